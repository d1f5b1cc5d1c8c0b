// The row of a client identified by its client ID metadata document (draft-ietf-oauth-client-id-metadata-document).
// Its metadata is the document, fetched and checked elsewhere (src/oauth/client-metadata-resolver.ts); the row
// exists because consents and grants refer to clients(id), and it follows the document each time that is
// fetched. A public client: no secret, token_endpoint_auth_method none.
import { guardStorage } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { ClientRecord } from '../domain/records.js';

export class MetadataDocumentClientStore {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Creates or updates the row of a document's client; false (nothing written) when the id belongs to a client
   * registered otherwise — one statement, so two instances saving the same new client cannot collide.
   */
  async save(record: ClientRecord, metadata: Record<string, unknown>): Promise<boolean> {
    const written = await guardStorage(
      'postgresql',
      () => this.prisma.$executeRaw`
        INSERT INTO clients (id, name, secret_hash, redirect_uris, allowed_scopes, grant_types, registration,
                             token_endpoint_auth_method, metadata, updated_at)
        VALUES (${record.id}, ${record.name}, NULL, ${record.redirectUris}::text[], ${record.allowedScopes}::text[],
                ${record.grantTypes}::text[], 'metadata_document', 'none', ${JSON.stringify(metadata)}::jsonb,
                CURRENT_TIMESTAMP)
        ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, redirect_uris = EXCLUDED.redirect_uris,
          allowed_scopes = EXCLUDED.allowed_scopes, grant_types = EXCLUDED.grant_types,
          metadata = EXCLUDED.metadata, updated_at = CURRENT_TIMESTAMP
        WHERE clients.registration = 'metadata_document'`,
    );
    return written > 0;
  }
}
