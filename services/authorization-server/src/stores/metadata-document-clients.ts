// The row of a client identified by its client ID metadata document (draft-ietf-oauth-client-id-metadata-document).
// Its metadata is the document, fetched and checked elsewhere (src/oauth/client-metadata-resolver.ts); the row
// exists because consents and grants refer to clients(id), and it follows the document each time that is
// fetched. A public client: no secret, token_endpoint_auth_method none.
//
// Anyone who controls a web server can make up any number of valid document URLs, so the rows are bounded:
// past `maxRows`, rows that hold no consent and no grant and have not been touched for UNUSED_AFTER are
// removed to make room, and when none can be, a new document client is refused with 503 + Retry-After
// (clients already known keep working).
import { BusyError, guardStorage } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { ClientRecord } from '../domain/records.js';

/**
 * A row is refreshed at every fetch of its document (at least hourly while it is used: the resolver keeps a
 * document an hour at most), and a sign-in or device approval in progress waits at most an hour
 * (AUTHORIZATION_REQUEST_TTL, DEVICE_CODE_TTL): a row untouched for three hours has no flow in progress that
 * could still write a consent or grant for it.
 */
const UNUSED_AFTER_HOURS = 3;
/** Rows removed per attempt to make room, so one sign-in never waits on a long delete. */
const PRUNE_BATCH = 100;

const pg = <T>(fn: () => Promise<T>) => guardStorage('postgresql', fn);

export class MetadataDocumentClientStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly maxRows = 10_000,
  ) {}

  /**
   * Creates or updates the row of a document's client; false (nothing written) when the id belongs to a client
   * registered otherwise — one statement, so two instances saving the same new client cannot collide. Throws
   * BusyError when the row would be new and there is no room for it.
   */
  async save(record: ClientRecord, metadata: Record<string, unknown>): Promise<boolean> {
    // xmax = 0 only on a row this statement inserted (an update sets it): tells a new client from a known one.
    const rows = await pg(
      () => this.prisma.$queryRaw<{ inserted: boolean }[]>`
        INSERT INTO clients (id, name, secret_hash, redirect_uris, allowed_scopes, grant_types, registration,
                             token_endpoint_auth_method, metadata, updated_at)
        VALUES (${record.id}, ${record.name}, NULL, ${record.redirectUris}::text[], ${record.allowedScopes}::text[],
                ${record.grantTypes}::text[], 'metadata_document', 'none', ${JSON.stringify(metadata)}::jsonb,
                CURRENT_TIMESTAMP)
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, redirect_uris = EXCLUDED.redirect_uris,
          allowed_scopes = EXCLUDED.allowed_scopes, grant_types = EXCLUDED.grant_types,
          metadata = EXCLUDED.metadata, updated_at = CURRENT_TIMESTAMP
        WHERE clients.registration = 'metadata_document'
        RETURNING (xmax = 0) AS inserted`,
    );
    if (rows.length === 0) return false;
    if (rows[0]!.inserted && (await this.overCapacity())) {
      await this.pruneUnused();
      if (await this.overCapacity()) {
        // Brand new, so nothing refers to it yet.
        await pg(() => this.prisma.$executeRaw`DELETE FROM clients WHERE id = ${record.id}`);
        throw new BusyError('Too many applications are known by their metadata documents; try again later.');
      }
    }
    return true;
  }

  private async overCapacity(): Promise<boolean> {
    const [row] = await pg(
      () => this.prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM clients WHERE registration = 'metadata_document'`,
    );
    return row!.n > this.maxRows;
  }

  /** Removes up to PRUNE_BATCH document clients nobody approved or holds a grant for, oldest first. */
  private async pruneUnused(): Promise<void> {
    await pg(
      () => this.prisma.$executeRaw`
        DELETE FROM clients WHERE id IN (
          SELECT c.id FROM clients c
          WHERE c.registration = 'metadata_document'
            AND c.updated_at < CURRENT_TIMESTAMP - make_interval(hours => ${UNUSED_AFTER_HOURS}::int)
            AND NOT EXISTS (SELECT 1 FROM consents s WHERE s.client_id = c.id)
            AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.client_id = c.id)
          ORDER BY c.updated_at
          LIMIT ${PRUNE_BATCH}::int)`,
    );
  }
}
