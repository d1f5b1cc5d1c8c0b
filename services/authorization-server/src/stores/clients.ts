// Registered clients in PostgreSQL, with a short per-instance cache (CLIENT_CACHE_TTL). Every read goes
// through guardStorage, so an outage surfaces as StorageUnavailableError (503) and can never be mistaken for
// "unknown client" (RFC 6749 §5.2 invalid_client).
import { guardStorage } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { ClientRecord } from '../domain/records.js';

/** Resolves clients by their metadata document (src/oauth/client-metadata-resolver.ts). */
export interface MetadataDocumentClients {
  handles(id: string): boolean;
  /** Throws when the document cannot be used (the caller answers with the reason). */
  resolve(id: string): Promise<ClientRecord>;
}

const pg = <T>(fn: () => Promise<T>) => guardStorage('postgresql', fn);

export class ClientRepository {
  /**
   * Known clients for `ttlMs` (see CLIENT_CACHE_TTL): a Map rather than a caching library because it needs
   * only this — positive results only (so its size is bounded by the registered clients, whatever ids
   * requests carry), concurrent misses sharing one read, and failures never kept.
   */
  private readonly cache = new Map<string, { record: Promise<ClientRecord | null>; until: number }>();

  /**
   * `documents`: clients identified by a metadata document URL (draft-ietf-oauth-client-id-metadata-document)
   * are found there, with its own cache; without it (CLIENT_METADATA_DOCUMENTS off) such ids are unknown.
   */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly ttlMs = 0,
    private readonly documents?: MetadataDocumentClients,
  ) {}

  findById(id: string): Promise<ClientRecord | null> {
    if (this.documents?.handles(id)) return this.documents.resolve(id);
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

  /**
   * The client as the database has it now, past this instance's cache (a metadata-document client still
   * through its document): for a decision that must see a delete served by another instance at once.
   */
  findFresh(id: string): Promise<ClientRecord | null> {
    if (this.documents?.handles(id)) return this.documents.resolve(id);
    return this.read(id);
  }

  /**
   * Drops this instance's cached record of a client whose registration changed or ended (RFC 7592), so this
   * instance sees the change at once; other instances see it within CLIENT_CACHE_TTL.
   */
  evict(id: string): void {
    this.cache.delete(id);
  }

  private forget(id: string, record: Promise<ClientRecord | null>): void {
    if (this.cache.get(id)?.record === record) this.cache.delete(id);
  }

  private read(id: string): Promise<ClientRecord | null> {
    return pg(
      () =>
        this.prisma.client.findUnique({
          where: { id },
          select: {
            id: true,
            name: true,
            secretHash: true,
            redirectUris: true,
            allowedScopes: true,
            grantTypes: true,
            registration: true,
            tokenEndpointAuthMethod: true,
            requirePushedAuthorizationRequests: true,
            dpopBoundAccessTokens: true,
            jwks: true,
            jwksUri: true,
          },
        }),
      // registration and tokenEndpointAuthMethod are plain text columns written only with the values their
      // types name (ClientRegistration, ClientAuthMethod); jwks only with a JWK Set that passed lib/client-jwks.ts.
    ).then((found) =>
      // A metadata document's row only follows its document: such a client is known through the document alone.
      found?.registration === 'metadata_document' ? null : found,
    ) as Promise<ClientRecord | null>;
  }
}
