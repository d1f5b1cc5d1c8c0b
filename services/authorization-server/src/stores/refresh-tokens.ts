// Refresh tokens in PostgreSQL (RFC 6749 §6; RFC 9700 §2.2.2, §4.14). Each use spends the token and issues
// its successor in the same grant. The store reports facts (unknown, other-client, revoked, expired, used,
// and whether a use lost a race); the token endpoint draws the conclusion (RFC 9700 §4.14.2: reuse revokes
// the grant) and calls the grant store. Tokens are stored only as SHA-256 hashes.
import { randomBytes, randomUUID } from 'node:crypto';
import { guardStorage } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { GrantRecord, Lifetimes, RefreshTokenInfo, RotationFact } from '../domain/records.js';
import { hashToken } from '../lib/token-hash.js';
import { GRANT_FIELDS } from './grant-columns.js';

const pg = <T>(fn: () => Promise<T>) => guardStorage('postgresql', fn);

export function generateRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A refresh token's expiry: the idle limit, never past its grant's absolute end. */
export function refreshExpiry(lifetimes: Lifetimes, grantExpiresAt: Date, now: Date): Date {
  return new Date(Math.min(now.getTime() + lifetimes.idle * 1000, grantExpiresAt.getTime()));
}

/** A refresh token joined with its grant, as rotate() reads it. */
interface RefreshRow extends GrantRecord {
  tokenId: string;
  tokenExpiresAt: Date;
  usedAt: Date | null;
}

export class RefreshTokenStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly lifetimes: Lifetimes,
  ) {}

  /**
   * Spends a refresh token and issues its successor. Of two concurrent uses only one can mark it used (a
   * conditional UPDATE); the other is told `used` (`concurrently`), like any later use. A token presented by
   * another client is reported without spending anything (RFC 6749 §6). `check` runs the request's own
   * checks (scope, resource) before the token is spent, so a bad request costs nothing.
   * `rotates` says, for the grant found, whether the token is spent and replaced; when it says no, the token
   * stays valid and only its idle limit moves on (see keep()).
   */
  async rotate(
    refreshToken: string,
    clientId: string,
    check: (grant: GrantRecord) => void,
    rotates: (grant: GrantRecord) => boolean = () => true,
  ): Promise<RotationFact> {
    // Two round trips in all (this read, then one statement that spends and replaces), instead of a nested
    // read and an interactive transaction (BEGIN, UPDATE, SELECT, INSERT, COMMIT): refresh is a hot path.
    const [row] = await pg(
      () =>
        this.prisma.$queryRaw<RefreshRow[]>`
        SELECT t."id" AS "tokenId", t."expires_at" AS "tokenExpiresAt", t."used_at" AS "usedAt",
               g."id", g."user_id" AS "userId", g."client_id" AS "clientId", g."scopes", g."resource",
               g."code_challenge" AS "codeChallenge", g."created_at" AS "createdAt", g."expires_at" AS "expiresAt",
               g."revoked_at" AS "revokedAt", g."dpop_jkt" AS "dpopJkt"
        FROM "refresh_tokens" t JOIN "grants" g ON g."id" = t."grant_id"
        WHERE t."token_hash" = ${hashToken(refreshToken)}`,
    );
    if (!row) return { ok: false, fact: 'unknown' };
    const { tokenId, tokenExpiresAt, usedAt, ...grant } = row;
    if (grant.clientId !== clientId) return { ok: false, fact: 'other-client' };
    if (grant.revokedAt) return { ok: false, fact: 'revoked', grant };
    if (usedAt) return { ok: false, fact: 'used', grant, concurrently: false };
    const now = new Date();
    if (tokenExpiresAt <= now || grant.expiresAt <= now) return { ok: false, fact: 'expired', grant };
    check(grant);
    const refreshExpiresAt = refreshExpiry(this.lifetimes, grant.expiresAt, now);
    if (!rotates(grant)) return this.keep(tokenId, grant, refreshExpiresAt);

    const successor = generateRefreshToken();
    // One statement, so atomic: mark the token used only if it still is unused (of two concurrent uses one
    // wins), and insert the successor only if the grant is still live. FOR SHARE makes a revocation that is
    // committing right now win: the row is re-checked after it commits, and no successor is issued.
    const [result] = await pg(
      () =>
        this.prisma.$queryRaw<{ spent: number; issued: number }[]>`
        WITH spent AS (
          UPDATE "refresh_tokens" SET "used_at" = ${now}
          WHERE "id" = ${tokenId}::uuid AND "used_at" IS NULL
          RETURNING "grant_id"),
        live AS (
          SELECT g."id" FROM "grants" g JOIN spent ON spent."grant_id" = g."id"
          WHERE g."revoked_at" IS NULL
          FOR SHARE OF g),
        successor AS (
          INSERT INTO "refresh_tokens" ("id", "grant_id", "token_hash", "created_at", "expires_at")
          SELECT ${randomUUID()}::uuid, live."id", ${hashToken(successor)}, ${now}, ${refreshExpiresAt} FROM live
          RETURNING "id")
        SELECT (SELECT count(*) FROM spent)::int AS "spent", (SELECT count(*) FROM successor)::int AS "issued"`,
    );
    if (!result || result.spent === 0) return { ok: false, fact: 'used', grant, concurrently: true };
    if (result.issued === 0) return { ok: false, fact: 'revoked', grant };
    return { ok: true, grant, refreshToken: successor, refreshExpiresAt };
  }

  /**
   * A use that does not rotate (FAPI 2.0 §5.3.2.1 rules rotation out where clients are confidential and tokens
   * sender-constrained): the same token stays valid, its idle limit moved on, as long as the grant is live —
   * checked in the same statement, so a revocation committing now wins (FOR SHARE, as in rotate()).
   */
  private async keep(tokenId: string, grant: GrantRecord, refreshExpiresAt: Date): Promise<RotationFact> {
    const kept = await pg(
      () =>
        this.prisma.$executeRaw`
        UPDATE "refresh_tokens" t SET "expires_at" = ${refreshExpiresAt}
        FROM (SELECT g."id" FROM "grants" g WHERE g."id" = ${grant.id}::uuid AND g."revoked_at" IS NULL FOR SHARE) live
        WHERE t."id" = ${tokenId}::uuid AND t."grant_id" = live."id" AND t."used_at" IS NULL`,
    );
    if (kept === 0) return { ok: false, fact: 'revoked', grant };
    return { ok: true, grant, refreshExpiresAt };
  }

  /** A refresh token for introspection, or null when unknown. */
  async describe(refreshToken: string): Promise<RefreshTokenInfo | null> {
    const row = await pg(() =>
      this.prisma.refreshToken.findUnique({
        where: { tokenHash: hashToken(refreshToken) },
        select: { createdAt: true, expiresAt: true, usedAt: true, grant: { select: GRANT_FIELDS } },
      }),
    );
    if (!row) return null;
    const now = new Date();
    const active = !row.usedAt && !row.grant.revokedAt && row.expiresAt > now && row.grant.expiresAt > now;
    return { grant: row.grant, createdAt: row.createdAt, expiresAt: row.expiresAt, active };
  }
}
