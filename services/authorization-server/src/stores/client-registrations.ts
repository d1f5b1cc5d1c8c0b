// Self-registered clients in PostgreSQL (RFC 7591, RFC 7592): created, read, replaced and deleted through
// their registration access token. Only rows with registration = 'dynamic' are touched here; operator clients
// (the clients command, the seed) have no registration access token and cannot be managed over HTTP.
// Deleting a client deletes its consents, grants and their refresh tokens with it (ON DELETE CASCADE), so no
// refresh token of it works afterwards on any instance.
import { guardStorage } from '@quartet/common';
import type { JSONWebKeySet } from 'jose';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import type { ClientAuthMethod, ManagedClient } from '../domain/records.js';

const pg = <T>(fn: () => Promise<T>) => guardStorage('postgresql', fn);

// Every column a ManagedClient has; only the bookkeeping timestamp is left out.
const BOOKKEEPING_ONLY = { updatedAt: true } as const;

/** What a registration or an update writes. */
export interface ClientRegistrationData {
  name: string;
  secretHash: string | null;
  redirectUris: string[];
  allowedScopes: string[];
  grantTypes: string[];
  tokenEndpointAuthMethod: ClientAuthMethod;
  /** A private_key_jwt client's keys (RFC 7591 §2 jwks or jwks_uri); null for other clients. */
  jwks: JSONWebKeySet | null;
  jwksUri: string | null;
  metadata: Record<string, unknown>;
  requirePushedAuthorizationRequests: boolean;
  dpopBoundAccessTokens: boolean;
}

/** The columns as Prisma writes them: a null JSON column is DbNull. */
const columns = (data: ClientRegistrationData) => ({
  ...data,
  jwks: data.jwks === null ? Prisma.DbNull : (data.jwks as unknown as Prisma.InputJsonObject),
  metadata: data.metadata as Prisma.InputJsonObject,
});

export class ClientRegistrationStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** How many self-registered clients exist (they are capped: MAX_DYNAMIC_CLIENTS). */
  countDynamic(): Promise<number> {
    return pg(() => this.prisma.client.count({ where: { registration: 'dynamic' } }));
  }

  async create(id: string, data: ClientRegistrationData, registrationAccessTokenHash: string): Promise<ManagedClient> {
    const row = await pg(() =>
      this.prisma.client.create({
        data: {
          id,
          ...columns(data),
          registration: 'dynamic',
          registrationAccessTokenHash,
        },
        omit: BOOKKEEPING_ONLY,
      }),
    );
    return row as ManagedClient;
  }

  /** A self-registered client, or null (unknown, or registered by the operator). */
  async find(id: string): Promise<ManagedClient | null> {
    const row = await pg(() =>
      this.prisma.client.findFirst({ where: { id, registration: 'dynamic' }, omit: BOOKKEEPING_ONLY }),
    );
    return row as ManagedClient | null;
  }

  /** Replaces what the client registered (RFC 7592 §2.2); null when it no longer exists. */
  async replace(id: string, data: ClientRegistrationData): Promise<ManagedClient | null> {
    const { count } = await pg(() =>
      this.prisma.client.updateMany({
        where: { id, registration: 'dynamic' },
        data: columns(data),
      }),
    );
    return count === 0 ? null : this.find(id);
  }

  /** Deletes the client with its consents, grants and refresh tokens; false when it did not exist. */
  async delete(id: string): Promise<boolean> {
    const { count } = await pg(() => this.prisma.client.deleteMany({ where: { id, registration: 'dynamic' } }));
    return count > 0;
  }
}
