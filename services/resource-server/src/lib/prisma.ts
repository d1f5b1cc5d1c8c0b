// One place that knows how to open the service's database through Prisma 7: a real PostgreSQL server when
// DATABASE_URL is set, else the embedded PostgreSQL (PGlite) in DATA_DIR — both from @quartet/common's
// openDatabase, so the same schema, migrations and queries run on either.
import { openPrismaDatabase, type PrismaDatabase } from '@quartet/common';
import { PrismaClient } from '../generated/prisma/client.js';

export { MIGRATIONS_DIR } from '../paths.js';

export interface DatabaseLocation {
  /** postgresql://… of a real server; undefined means embedded in `dataDir`. */
  databaseUrl?: string | undefined;
  dataDir: string;
}

export type OpenedDatabase = PrismaDatabase<PrismaClient>;

/** Opens the database; a dropped idle connection to a real server is reported to `onPoolError`. */
export function openPrisma(location: DatabaseLocation, onPoolError?: (err: Error) => void): Promise<OpenedDatabase> {
  return openPrismaDatabase({ ...location, onPoolError }, (adapter) => new PrismaClient({ adapter }));
}
