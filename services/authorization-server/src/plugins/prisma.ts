// The database (a PostgreSQL server, or embedded PGlite when DATABASE_URL is unset) and its Prisma client,
// closed with the app. At start it can apply pending migrations (AUTO_MIGRATE) and the demo seed
// (SEED_DEMO_DATA), so a fresh DATA_DIR becomes a working server with one command.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { DatabaseHandle } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import { MIGRATIONS_DIR, isMigrated, openPrisma } from '../database.js';
import { seed } from '../seed.js';

declare module 'fastify' {
  interface FastifyInstance {
    prisma: PrismaClient;
    /** Which database this is (embedded or a server) and where, for the start-up log. */
    database: DatabaseHandle;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    const { config } = app;
    const db = await openPrisma(config);
    // Registered before anything else can fail, so a failed start still closes PGlite and its lock.
    app.addHook('onClose', () => db.close());
    app.decorate('prisma', db.prisma);
    app.decorate('database', db.handle);
    try {
      if (config.AUTO_MIGRATE) {
        const applied = await db.handle.migrate(MIGRATIONS_DIR);
        app.log.info(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date');
      } else if (!(await isMigrated(db.prisma))) {
        throw new Error(
          `the database (${db.handle.description}) has no schema yet: run \`npm run migrate\` or set AUTO_MIGRATE=true`,
        );
      }
      if (config.SEED_DEMO_DATA) {
        const result = await seed(db.prisma, config);
        app.log.info(
          `demo data: clients ${result.clients.join(', ')}; ${result.usersCreated.length ? `created users ${result.usersCreated.join(', ')}` : 'users already present'}`,
        );
      }
    } catch (err) {
      // Fastify does not run onClose hooks when a plugin fails during registration: close here.
      await db.close();
      throw err;
    }
  },
  { name: 'prisma', dependencies: ['config'] },
);
