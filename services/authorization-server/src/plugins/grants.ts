// Grants and their refresh tokens in PostgreSQL (RFC 6749 §1.5, §6, §4.1.2; RFC 9700 §2.2.2 and §4.14;
// RFC 7009 §2.1). A grant is created when an authorization code is redeemed; its refresh tokens rotate on
// every use and form one family. Presenting a refresh token that was already spent means two parties hold
// it (the client and a thief, or a double submit): the whole grant is revoked, as RFC 9700 §4.14.2 asks.
// Refresh tokens and codes are stored only as SHA-256 hashes: a database dump yields nothing usable.
import { randomBytes, randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { guardStorage } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import { hashToken } from '../lib/token-hash.js';

const pg = <T>(fn: () => Promise<T>) => guardStorage('postgresql', fn);

export function generateRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export interface GrantRecord {
  id: string;
  userId: string;
  clientId: string;
  scopes: string[];
  resource: string;
  codeChallenge: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface NewGrant {
  userId: string;
  clientId: string;
  scopes: string[];
  resource: string;
  code: string;
  codeChallenge: string;
  /** Issue a refresh token with it (the client may use the refresh_token grant). */
  withRefreshToken: boolean;
}

export interface Lifetimes {
  /** Absolute lifetime of a grant's refresh tokens, seconds. */
  absolute: number;
  /** Idle lifetime of one refresh token, seconds. */
  idle: number;
}

/** Why a refresh token cannot be used; the token endpoint turns each into invalid_grant. */
export type RefreshFailure = 'unknown' | 'other-client' | 'revoked' | 'expired' | 'reused';

export type RefreshOutcome =
  | { ok: true; grant: GrantRecord; refreshToken: string; refreshExpiresAt: Date }
  | { ok: false; reason: RefreshFailure; grant?: GrantRecord };

/** A refresh token as introspection sees it (RFC 7662). */
export interface RefreshTokenInfo {
  grant: GrantRecord;
  createdAt: Date;
  expiresAt: Date;
  active: boolean;
}

export interface ConnectedApp {
  clientId: string;
  clientName: string;
  /** What was approved, per resource (RFC 8707 audience). */
  resources: { resource: string; scopes: string[] }[];
  grantedAt: Date;
  updatedAt: Date;
}

const GRANT_FIELDS = {
  id: true,
  userId: true,
  clientId: true,
  scopes: true,
  resource: true,
  codeChallenge: true,
  createdAt: true,
  expiresAt: true,
  revokedAt: true,
} as const;

/** A refresh token joined with its grant, as rotate() reads it. */
interface RefreshRow extends GrantRecord {
  tokenId: string;
  tokenExpiresAt: Date;
  usedAt: Date | null;
}

export class GrantStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly lifetimes: Lifetimes,
  ) {}

  private refreshExpiry(grantExpiresAt: Date, now: Date): Date {
    return new Date(Math.min(now.getTime() + this.lifetimes.idle * 1000, grantExpiresAt.getTime()));
  }

  /**
   * Records the grant of a redeemed code and, when asked, its first refresh token: one statement (a
   * data-modifying CTE), so both rows commit atomically in one round trip instead of BEGIN, two INSERTs, a
   * re-read and COMMIT. Null when the code already has a grant row: a replay of it was recorded first
   * (recordReplay), so this redemption must issue nothing.
   */
  async create(
    grant: NewGrant,
  ): Promise<{ grant: GrantRecord; refreshToken?: string; refreshExpiresAt?: Date } | null> {
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.lifetimes.absolute * 1000);
    const refreshToken = grant.withRefreshToken ? generateRefreshToken() : undefined;
    const refreshExpiresAt = refreshToken ? this.refreshExpiry(expiresAt, now) : undefined;
    const id = randomUUID();
    const codeHash = hashToken(grant.code);
    // ON CONFLICT on code_hash: the rows written are counted, 0 meaning the code was recorded before.
    const written = await pg(() =>
      refreshToken
        ? this.prisma.$executeRaw`
            WITH g AS (
              INSERT INTO "grants" ("id", "user_id", "client_id", "scopes", "resource", "code_hash", "code_challenge", "created_at", "expires_at")
              VALUES (${id}::uuid, ${grant.userId}::uuid, ${grant.clientId}, ${grant.scopes}::text[], ${grant.resource}, ${codeHash}, ${grant.codeChallenge}, ${now}, ${expiresAt})
              ON CONFLICT ("code_hash") DO NOTHING
              RETURNING "id")
            INSERT INTO "refresh_tokens" ("id", "grant_id", "token_hash", "created_at", "expires_at")
            SELECT ${randomUUID()}::uuid, g."id", ${hashToken(refreshToken)}, ${now}, ${refreshExpiresAt!} FROM g`
        : this.prisma.$executeRaw`
            INSERT INTO "grants" ("id", "user_id", "client_id", "scopes", "resource", "code_hash", "code_challenge", "created_at", "expires_at")
            VALUES (${id}::uuid, ${grant.userId}::uuid, ${grant.clientId}, ${grant.scopes}::text[], ${grant.resource}, ${codeHash}, ${grant.codeChallenge}, ${now}, ${expiresAt})
            ON CONFLICT ("code_hash") DO NOTHING`,
    );
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

  /**
   * Spends a refresh token and issues its successor. Of two concurrent uses only one can mark it used (a
   * conditional UPDATE); the other, like any later use, counts as reuse and revokes the grant. A token
   * presented by another client is refused without spending or revoking anything (RFC 6749 §6).
   */
  async rotate(refreshToken: string, clientId: string, check: (grant: GrantRecord) => void): Promise<RefreshOutcome> {
    // Two round trips in all (this read, then one statement that spends and replaces), instead of a nested
    // read and an interactive transaction (BEGIN, UPDATE, SELECT, INSERT, COMMIT): refresh is a hot path.
    const [row] = await pg(
      () =>
        this.prisma.$queryRaw<RefreshRow[]>`
        SELECT t."id" AS "tokenId", t."expires_at" AS "tokenExpiresAt", t."used_at" AS "usedAt",
               g."id", g."user_id" AS "userId", g."client_id" AS "clientId", g."scopes", g."resource",
               g."code_challenge" AS "codeChallenge", g."created_at" AS "createdAt", g."expires_at" AS "expiresAt",
               g."revoked_at" AS "revokedAt"
        FROM "refresh_tokens" t JOIN "grants" g ON g."id" = t."grant_id"
        WHERE t."token_hash" = ${hashToken(refreshToken)}`,
    );
    if (!row) return { ok: false, reason: 'unknown' };
    const { tokenId, tokenExpiresAt, usedAt, ...grant } = row;
    if (grant.clientId !== clientId) return { ok: false, reason: 'other-client' };
    if (grant.revokedAt) return { ok: false, reason: 'revoked', grant };
    if (usedAt) {
      await this.revoke(grant.id, 'refresh token reused');
      return { ok: false, reason: 'reused', grant };
    }
    const now = new Date();
    if (tokenExpiresAt <= now || grant.expiresAt <= now) return { ok: false, reason: 'expired', grant };
    // Request checks (scope, resource) run before the token is spent, so a bad request costs nothing.
    check(grant);

    const successor = generateRefreshToken();
    const refreshExpiresAt = this.refreshExpiry(grant.expiresAt, now);
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
    if (!result || result.spent === 0) {
      await this.revoke(grant.id, 'refresh token used twice concurrently');
      return { ok: false, reason: 'reused', grant };
    }
    if (result.issued === 0) return { ok: false, reason: 'revoked', grant };
    return { ok: true, grant, refreshToken: successor, refreshExpiresAt };
  }

  /** A refresh token for introspection, or null when unknown. */
  async describeRefreshToken(refreshToken: string): Promise<RefreshTokenInfo | null> {
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
   * Withdraws what a user gave a client: the stored consent (so the next authorization asks again) and every
   * grant (refresh tokens, and access tokens as far as introspection goes), in one transaction.
   */
  async revokeConsent(userId: string, clientId: string): Promise<{ grantsRevoked: number; consentRemoved: boolean }> {
    return pg(() =>
      this.prisma.$transaction(async (tx) => {
        const grants = await tx.grant.updateMany({
          where: { userId, clientId, revokedAt: null },
          data: { revokedAt: new Date(), revokedReason: 'consent withdrawn by the user' },
        });
        const consent = await tx.consent.deleteMany({ where: { userId, clientId } });
        return { grantsRevoked: grants.count, consentRemoved: consent.count > 0 };
      }),
    );
  }

  /** The clients a user has approved, with the resources of each, newest first, for the "connected apps" page. */
  async connectedApps(userId: string): Promise<ConnectedApp[]> {
    const consents = await pg(() =>
      this.prisma.consent.findMany({
        where: { userId },
        orderBy: [{ updatedAt: 'desc' }, { resource: 'asc' }],
        select: {
          clientId: true,
          resource: true,
          scopes: true,
          createdAt: true,
          updatedAt: true,
          client: { select: { name: true } },
        },
      }),
    );
    const apps = new Map<string, ConnectedApp>();
    for (const c of consents) {
      const app = apps.get(c.clientId);
      if (!app) {
        apps.set(c.clientId, {
          clientId: c.clientId,
          clientName: c.client.name,
          resources: [],
          grantedAt: c.createdAt,
          updatedAt: c.updatedAt,
        });
      } else if (c.createdAt < app.grantedAt) {
        app.grantedAt = c.createdAt;
      }
      apps.get(c.clientId)!.resources.push({ resource: c.resource, scopes: c.scopes });
    }
    return [...apps.values()];
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    grants: GrantStore;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    const { REFRESH_TOKEN_TTL, REFRESH_TOKEN_IDLE_TTL } = app.config;
    app.decorate('grants', new GrantStore(app.prisma, { absolute: REFRESH_TOKEN_TTL, idle: REFRESH_TOKEN_IDLE_TTL }));
  },
  { name: 'grants', dependencies: ['config', 'prisma'] },
);
