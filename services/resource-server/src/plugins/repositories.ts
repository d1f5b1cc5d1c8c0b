// Storage for the API: the Prisma client stays private to this plugin, and routes reach the data only
// through the repository decorators, each call guarded so an outage becomes StorageUnavailableError (503).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { guardStorage } from '@quartet/common';
import { createPrismaClient } from '../lib/prisma.js';
import { DocumentRepository } from '../repositories/documents.js';
import { PhotoRepository } from '../repositories/photos.js';

declare module 'fastify' {
  interface FastifyInstance {
    photos: PhotoRepository;
    documents: DocumentRepository;
    /** Throws StorageUnavailableError when PostgreSQL cannot be reached (for /readyz). */
    pingDatabase(): Promise<void>;
  }
}

export interface RepositoriesOptions {
  databaseUrl: string;
}

async function repositories(app: FastifyInstance, options: RepositoriesOptions): Promise<void> {
  const prisma = createPrismaClient(options.databaseUrl, (err) => app.log.warn({ err: err.message }, 'postgresql connection lost'));
  app.decorate('photos', new PhotoRepository(prisma));
  app.decorate('documents', new DocumentRepository(prisma));
  app.decorate('pingDatabase', async () => {
    await guardStorage('postgresql', () => prisma.$queryRaw`SELECT 1`);
  });
  app.addHook('onClose', async () => {
    await prisma.$disconnect();
  });
}

export default fp(repositories, { name: 'repositories' });
