// Wires the PostgreSQL stores of users, clients and consents (src/stores) onto the app, and the database ping
// the readiness check uses.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { guardStorage, isProduction } from '@quartet/common';
import { unmatchableHash } from '../lib/passwords.js';
import { HashingQueue } from '../lib/hashing-queue.js';
import { UserDirectory } from '../stores/users.js';
import { ClientRepository } from '../stores/clients.js';
import { ConsentRepository } from '../stores/consents.js';
import { MetadataDocumentClientStore } from '../stores/metadata-document-clients.js';
import { ClientMetadataResolver } from '../oauth/client-metadata-resolver.js';
import { ClientRegistrationStore } from '../stores/client-registrations.js';

declare module 'fastify' {
  interface FastifyInstance {
    users: UserDirectory;
    clients: ClientRepository;
    consents: ConsentRepository;
    /** Self-registered clients (RFC 7591, RFC 7592). */
    clientRegistrations: ClientRegistrationStore;
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
    // Client ID metadata documents: loopback http ones only with a development (http) issuer.
    const documents = app.config.CLIENT_METADATA_DOCUMENTS
      ? new ClientMetadataResolver(new MetadataDocumentClientStore(app.prisma, app.config.MAX_DOCUMENT_CLIENTS), {
          allowLoopbackHttp: !isProduction(app.config.ISSUER),
        })
      : undefined;
    app.decorate('clients', new ClientRepository(app.prisma, app.config.CLIENT_CACHE_TTL * 1000, documents));
    app.decorate('consents', new ConsentRepository(app.prisma));
    app.decorate('clientRegistrations', new ClientRegistrationStore(app.prisma));
    app.decorate('pingDatabase', async () => {
      await guardStorage('postgresql', () => app.prisma.$queryRaw`SELECT 1`);
    });
  },
  { name: 'repositories', dependencies: ['config', 'prisma'] },
);
