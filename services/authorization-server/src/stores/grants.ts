// Grants in PostgreSQL (RFC 6749 §1.5, §4.1.2; RFC 7009 §2.1). A grant is recorded when an authorization code
// is redeemed; its refresh tokens (stores/refresh-tokens.ts) form one family and end with it. The store
// reports what it found and did; what a replayed code or a reused refresh token means is decided by the
// token endpoint (oauth/token-grants.ts), which then calls revoke. Codes are stored only as SHA-256 hashes.
import { randomUUID } from 'node:crypto';
import { guardStorage } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { GrantRecord, Lifetimes, NewGrant } from '../domain/records.js';
import { hashToken } from '../lib/token-hash.js';
import { GRANT_FIELDS } from './grant-columns.js';
import { generateRefreshToken, refreshExpiry } from './refresh-tokens.js';

const pg = <T>(fn: () => Promise<T>) => guardStorage('postgresql', fn);

/** Which party of a new grant no longer exists. */
export type PartyGone = 'client-gone' | 'user-gone';

/** A foreign-key violation of a grant's client_id or user_id, as Prisma's driver adapters report it. */
function partyGone(err: unknown): PartyGone | null {
  const cause = (err as { meta?: { driverAdapterError?: { cause?: { kind?: string; constraint?: unknown } } } })?.meta
    ?.driverAdapterError?.cause;
  if (cause?.kind !== 'ForeignKeyConstraintViolation') return null;
  const constraint = JSON.stringify(cause.constraint ?? '');
  if (constraint.includes('grants_client_id_fkey')) return 'client-gone';
  if (constraint.includes('grants_user_id_fkey')) return 'user-gone';
  return null;
}

export class GrantStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly lifetimes: Lifetimes,
  ) {}

  /**
   * Records the grant of a redeemed code and, when asked, its first refresh token: one statement (a
   * data-modifying CTE), so both rows commit atomically in one round trip instead of BEGIN, two INSERTs, a
   * re-read and COMMIT. Null when the code already has a grant row: a replay of it was recorded first
   * (recordReplay), so this redemption must issue nothing. 'client-gone' or 'user-gone' when the client or
   * the user was deleted since the code was issued (their foreign keys refuse the row): another instance may
   * still have had the client cached (CLIENT_CACHE_TTL), and the token endpoint must issue nothing then either.
   */
  async create(
    grant: NewGrant,
  ): Promise<{ grant: GrantRecord; refreshToken?: string; refreshExpiresAt?: Date } | null | PartyGone> {
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.lifetimes.absolute * 1000);
    const refreshToken = grant.withRefreshToken ? generateRefreshToken() : undefined;
    const refreshExpiresAt = refreshToken ? refreshExpiry(this.lifetimes, expiresAt, now) : undefined;
    const id = randomUUID();
    const codeHash = hashToken(grant.code);
    // ON CONFLICT on code_hash: the rows written are counted, 0 meaning the code was recorded before.
    const written = await pg(() =>
      (refreshToken
        ? this.prisma.$executeRaw`
            WITH g AS (
              INSERT INTO "grants" ("id", "user_id", "client_id", "scopes", "resource", "code_hash", "code_challenge", "created_at", "expires_at", "dpop_jkt")
              VALUES (${id}::uuid, ${grant.userId}::uuid, ${grant.clientId}, ${grant.scopes}::text[], ${grant.resource}, ${codeHash}, ${grant.codeChallenge}, ${now}, ${expiresAt}, ${grant.dpopJkt ?? null})
              ON CONFLICT ("code_hash") DO NOTHING
              RETURNING "id")
            INSERT INTO "refresh_tokens" ("id", "grant_id", "token_hash", "created_at", "expires_at")
            SELECT ${randomUUID()}::uuid, g."id", ${hashToken(refreshToken)}, ${now}, ${refreshExpiresAt!} FROM g`
        : this.prisma.$executeRaw`
            INSERT INTO "grants" ("id", "user_id", "client_id", "scopes", "resource", "code_hash", "code_challenge", "created_at", "expires_at", "dpop_jkt")
            VALUES (${id}::uuid, ${grant.userId}::uuid, ${grant.clientId}, ${grant.scopes}::text[], ${grant.resource}, ${codeHash}, ${grant.codeChallenge}, ${now}, ${expiresAt}, ${grant.dpopJkt ?? null})
            ON CONFLICT ("code_hash") DO NOTHING`
      ).catch((err: unknown) => {
        const gone = partyGone(err);
        if (gone) return gone;
        throw err;
      }),
    );
    if (typeof written === 'string') return written;
    if (written === 0) return null;
    const record: GrantRecord = {
      id,
      userId: grant.userId,
      clientId: grant.clientId,
      scopes: grant.scopes,
      resource: grant.resource,
      codeChallenge: grant.codeChallenge,
      createdAt: now,
      expiresAt,
      revokedAt: null,
      dpopJkt: grant.dpopJkt ?? null,
    };
    return { grant: record, refreshToken, refreshExpiresAt };
  }

  /**
   * Records that a code was presented again by its own client (RFC 6749 §4.1.2): one statement that either
   * revokes the grant the first redemption recorded, or, when that redemption has not recorded it yet (a
   * replay in the gap between its claim of the code and its INSERT), records the grant as revoked already,
   * so that INSERT finds the code taken and issues nothing. The unique code_hash makes the two orders meet.
   */
  async recordReplay(grant: Omit<NewGrant, 'withRefreshToken'>): Promise<void> {
    const now = new Date();
    const reason = 'authorization code replayed';
    await pg(
      () => this.prisma.$executeRaw`
        INSERT INTO "grants" ("id", "user_id", "client_id", "scopes", "resource", "code_hash", "code_challenge", "created_at", "expires_at", "revoked_at", "revoked_reason")
        VALUES (${randomUUID()}::uuid, ${grant.userId}::uuid, ${grant.clientId}, ${grant.scopes}::text[], ${grant.resource}, ${hashToken(grant.code)}, ${grant.codeChallenge}, ${now}, ${now}, ${now}, ${reason})
        ON CONFLICT ("code_hash") DO UPDATE
        SET "revoked_at" = COALESCE("grants"."revoked_at", EXCLUDED."revoked_at"),
            "revoked_reason" = COALESCE("grants"."revoked_reason", EXCLUDED."revoked_reason")`,
    );
  }

  /** The grant an authorization code was redeemed for (to recognise a replayed code), or null. */
  findByCode(code: string): Promise<GrantRecord | null> {
    return pg(() => this.prisma.grant.findUnique({ where: { codeHash: hashToken(code) }, select: GRANT_FIELDS }));
  }

  findById(id: string): Promise<GrantRecord | null> {
    return pg(() => this.prisma.grant.findUnique({ where: { id }, select: GRANT_FIELDS }));
  }

  /** Ends a grant: its refresh tokens stop working, and introspection reports its access tokens inactive. */
  async revoke(grantId: string, reason: string): Promise<void> {
    await pg(() =>
      this.prisma.grant.updateMany({
        where: { id: grantId, revokedAt: null },
        data: { revokedAt: new Date(), revokedReason: reason },
      }),
    );
  }

  /**
   * Ends every live grant the user gave the client (consent withdrawn, see routes/connected-apps.ts): their
   * refresh tokens stop working, and introspection reports their access tokens inactive. How many ended.
   */
  async revokeAll(userId: string, clientId: string, reason: string): Promise<number> {
    const grants = await pg(() =>
      this.prisma.grant.updateMany({
        where: { userId, clientId, revokedAt: null },
        data: { revokedAt: new Date(), revokedReason: reason },
      }),
    );
    return grants.count;
  }
}
