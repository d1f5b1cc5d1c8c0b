// `npm run migrate`: applies prisma/migrations the way `prisma migrate deploy` would (Prisma's schema engine
// cannot be downloaded here; see DESIGN.md, Storage) — to the PostgreSQL server in DATABASE_URL (creating the
// database if needed), or to the embedded database in DATA_DIR when DATABASE_URL is unset.
import { ConfigError, ensureDatabase, openDatabase } from '@quartet/common';
import { databaseLocation, readConfig } from '../config.js';
import { MIGRATIONS_DIR } from '../lib/prisma.js';

try {
  const { databaseUrl, dataDir } = databaseLocation(readConfig());
  if (databaseUrl && (await ensureDatabase(databaseUrl)))
    console.log(`created database ${new URL(databaseUrl).pathname.slice(1)}`);
  const db = await openDatabase({ databaseUrl, dataDir });
  console.log(`database: ${db.description}`);
  try {
    const applied = await db.migrate(MIGRATIONS_DIR);
    console.log(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await db.close();
  }
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `migration failed: ${(err as Error).message}`);
  process.exit(1);
}
