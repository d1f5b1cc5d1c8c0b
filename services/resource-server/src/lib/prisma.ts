// One place that knows how to open the service's database through Prisma 7: a real PostgreSQL server when
// DATABASE_URL is set, else the embedded PostgreSQL (PGlite) in DATA_DIR — both from @quartet/common's
// openDatabase, so the same schema, migrations and queries run on either.
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import { openDatabase, type DatabaseHandle } from '@quartet/common';
import { PrismaClient } from '../generated/prisma/client.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

export interface DatabaseLocation {
  /** postgresql://… of a real server; undefined means embedded in `dataDir`. */
  databaseUrl?: string | undefined;
  dataDir: string;
}

export interface OpenedDatabase {
  prisma: PrismaClient;
  /** Which backend and where (for logs), and migrate() for the service's own migrations folder. */
  handle: DatabaseHandle;
  /** Disconnects Prisma, then closes the handle (PGlite must be closed cleanly or recent writes may be lost). */
  close(): Promise<void>;
}

/**
 * Opens the database (an embedded one is locked to this process until close()). Against a real server the
 * pg pool gets the options the shared handle does not set: pg waits forever for a connection by default,
 * and an outage must fail fast into a 503 rather than hang requests; an idle connection dropping (database
 * restart) is reported to `onPoolError` and the pool reconnects on demand.
 */
export async function openPrisma(location: DatabaseLocation, onPoolError?: (err: Error) => void): Promise<OpenedDatabase> {
  const handle = await openDatabase({ databaseUrl: location.databaseUrl, dataDir: location.dataDir });
  const adapter =
    handle.embedded || !location.databaseUrl
      ? handle.adapter
      : new PrismaPg({ connectionString: location.databaseUrl, connectionTimeoutMillis: 3_000, max: 10 }, onPoolError ? { onPoolError } : undefined);
  const prisma = new PrismaClient({ adapter });
  let closed = false;
  return {
    prisma,
    handle,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await prisma.$disconnect();
      } finally {
        await handle.close();
      }
    },
  };
}
