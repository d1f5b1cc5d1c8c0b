// Users, clients and consents in PostgreSQL. Every call goes through guardStorage, so an outage surfaces
// as StorageUnavailableError (503) and can never be mistaken for "unknown user" or "wrong secret".
import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { guardStorage } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import { unmatchableHash, verifyPassword } from '../lib/passwords.js';
import { HashingQueue } from '../lib/hashing-queue.js';

export interface ClientRecord {
  id: string;
  name: string;
  /** SHA-256 hex of the secret; null for public clients. */
  secretHash: string | null;
  redirectUris: string[];
  allowedScopes: string[];
  grantTypes: string[];
}

export interface UserRecord {
  id: string;
  username: string;
}

const pg = <T>(fn: () => Promise<T>) => guardStorage('postgresql', fn);

export class UserDirectory {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly dummyHash: string,
    private readonly hashing: HashingQueue,
  ) {}

  /**
   * The user whose username and password match, else null. An unknown username still costs one scrypt
   * run against a dummy hash, so response time does not reveal which usernames exist. The scrypt run waits
   * its turn in the bounded hashing queue (HashingQueueFullError, 503, when it is full).
   */
  async authenticate(username: string, password: string): Promise<UserRecord | null> {
    const user = await pg(() => this.prisma.user.findUnique({ where: { username } }));
    const ok = await this.hashing.run(() => verifyPassword(password, user?.passwordHash ?? this.dummyHash));
    return user && ok ? { id: user.id, username: user.username } : null;
  }

  findById(id: string): Promise<UserRecord | null> {
    return pg(() => this.prisma.user.findUnique({ where: { id }, select: { id: true, username: true } }));
  }
}

export class ClientRepository {
  /**
   * Known clients for `ttlMs` (see CLIENT_CACHE_TTL): a Map rather than a caching library because it needs
   * only this — positive results only (so its size is bounded by the registered clients, whatever ids
   * requests carry), concurrent misses sharing one read, and failures never kept.
   */
  private readonly cache = new Map<string, { record: Promise<ClientRecord | null>; until: number }>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly ttlMs = 0,
  ) {}

  findById(id: string): Promise<ClientRecord | null> {
    if (this.ttlMs === 0) return this.read(id);
    const now = Date.now();
    const cached = this.cache.get(id);
    if (cached && cached.until > now) return cached.record;
    const record = this.read(id);
    this.cache.set(id, { record, until: now + this.ttlMs });
    // Keep only a found client; an unknown id or a failed read is forgotten once it settles.
    record.then(
      (found) => found === null && this.forget(id, record),
      () => this.forget(id, record),
    );
    return record;
  }

  private forget(id: string, record: Promise<ClientRecord | null>): void {
    if (this.cache.get(id)?.record === record) this.cache.delete(id);
  }

  private read(id: string): Promise<ClientRecord | null> {
    return pg(() =>
      this.prisma.client.findUnique({
        where: { id },
        select: { id: true, name: true, secretHash: true, redirectUris: true, allowedScopes: true, grantTypes: true },
      }),
    );
  }
}

export class ConsentRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Scopes the user has approved for the client and this resource (empty when never asked). */
  async grantedScopes(userId: string, clientId: string, resource: string): Promise<string[]> {
    const consent = await pg(() =>
      this.prisma.consent.findUnique({
        where: { userId_clientId_resource: { userId, clientId, resource } },
        select: { scopes: true },
      }),
    );
    return consent?.scopes ?? [];
  }

  /** Adds scopes to the user's consent for the client and resource, in one statement so concurrent approvals merge. */
  async grant(userId: string, clientId: string, resource: string, scopes: string[]): Promise<void> {
    await pg(
      () => this.prisma.$executeRaw`
        INSERT INTO "consents" ("id", "user_id", "client_id", "resource", "scopes", "updated_at")
        VALUES (${randomUUID()}::uuid, ${userId}::uuid, ${clientId}, ${resource}, ${scopes}::text[], now())
        ON CONFLICT ("user_id", "client_id", "resource") DO UPDATE
        SET "scopes" = ARRAY(SELECT DISTINCT unnest("consents"."scopes" || EXCLUDED."scopes") ORDER BY 1),
            "updated_at" = now()`,
    );
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    users: UserDirectory;
    clients: ClientRepository;
    consents: ConsentRepository;
    /** Throws StorageUnavailableError when PostgreSQL does not answer. */
    pingDatabase(): Promise<void>;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    // At the configured cost, so that the check for an unknown username takes as long as a real one.
    const dummyHash = unmatchableHash(app.config.PASSWORD_SCRYPT_N);
    const hashing = new HashingQueue(app.config.PASSWORD_HASH_CONCURRENCY, app.config.PASSWORD_HASH_QUEUE);
    app.decorate('users', new UserDirectory(app.prisma, dummyHash, hashing));
    app.decorate('clients', new ClientRepository(app.prisma, app.config.CLIENT_CACHE_TTL * 1000));
    app.decorate('consents', new ConsentRepository(app.prisma));
    app.decorate('pingDatabase', async () => {
      await pg(() => app.prisma.$queryRaw`SELECT 1`);
    });
  },
  { name: 'repositories', dependencies: ['config', 'prisma'] },
);
