// The authorization server's PostgreSQL: a real server when DATABASE_URL is set, else an embedded PostgreSQL
// (PGlite) in DATA_DIR. Both run the same migrations, Prisma schema, repositories and raw SQL (advisory
// locks, ON CONFLICT, arrays). Used by the app, `npm run migrate` and `npm run seed`.
import { openPrismaDatabase, type PrismaDatabase } from '@quartet/common';
import { PrismaClient } from './generated/prisma/client.js';
import type { Config } from './config.js';

export { MIGRATIONS_DIR } from './paths.js';

export type DatabaseConfig = Pick<Config, 'DATABASE_URL' | 'DATA_DIR'>;

export type Database = PrismaDatabase<PrismaClient>;

/** Opens the configured database and a Prisma client on it. */
export function openPrisma(config: DatabaseConfig): Promise<Database> {
  return openPrismaDatabase(
    { databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR },
    (adapter) => new PrismaClient({ adapter }),
  );
}

/** True when the schema's migrations were applied (the app cannot start on an empty database). */
export async function isMigrated(prisma: PrismaClient): Promise<boolean> {
  const rows = await prisma.$queryRaw<
    Array<{ present: boolean }>
  >`SELECT to_regclass('public._prisma_migrations') IS NOT NULL AS present`;
  return rows[0]?.present === true;
}
