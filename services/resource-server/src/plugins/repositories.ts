// Storage for the API: the Prisma client stays private to this plugin, and routes reach the data only
// through the repository decorators, each call guarded so an outage becomes StorageUnavailableError (503).
// The database is a PostgreSQL server (DATABASE_URL) or the embedded PGlite in DATA_DIR; with AUTO_MIGRATE
// the pending migrations are applied before the first request, with SEED_DEMO_DATA the demo data is upserted.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { guardStorage } from '@quartet/common';
import { databaseLocation } from '../config.js';
import { seedDemoData } from '../lib/demo-data.js';
import { MIGRATIONS_DIR, openPrisma } from '../lib/prisma.js';
import { DocumentRepository } from '../repositories/documents.js';
import { PhotoRepository } from '../repositories/photos.js';

declare module 'fastify' {
  interface FastifyInstance {
    photos: PhotoRepository;
    documents: DocumentRepository;
    /** Throws StorageUnavailableError when PostgreSQL cannot be reached (for /readyz). */
    pingDatabase(): Promise<void>;
    /** Which database this instance uses, for the start-up log (never credentials). */
    database: { embedded: boolean; description: string };
  }
}

async function repositories(app: FastifyInstance): Promise<void> {
  const { config } = app;
  const db = await openPrisma(databaseLocation(config), (err) =>
    app.log.warn({ err: err.message }, 'postgresql connection lost'),
  );
  try {
    if (config.AUTO_MIGRATE) {
      const applied = await db.handle.migrate(MIGRATIONS_DIR);
      app.log.info(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date');
    }
    if (config.SEED_DEMO_DATA) {
      const { photos, documents } = await seedDemoData(db.prisma);
      app.log.info(`demo data in place: ${photos} photos and ${documents} documents for alice and bob`);
    }
  } catch (err) {
    // Release the database (and an embedded folder's lock) before failing the start.
    await db.close();
    throw err;
  }
  app.decorate('database', { embedded: db.handle.embedded, description: db.handle.description });
  app.decorate('photos', new PhotoRepository(db.prisma));
  app.decorate('documents', new DocumentRepository(db.prisma));
  app.decorate('pingDatabase', async () => {
    await guardStorage('postgresql', () => db.prisma.$queryRaw`SELECT 1`);
  });
  app.addHook('onClose', () => db.close());
}

export default fp(repositories, { name: 'repositories', dependencies: ['config'] });
