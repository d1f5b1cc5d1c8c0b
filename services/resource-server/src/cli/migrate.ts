// `npm run migrate`: creates the database if needed and applies prisma/migrations the way
// `prisma migrate deploy` would (Prisma's schema engine cannot be downloaded here; see DESIGN.md, Storage).
import { fileURLToPath } from 'node:url';
import { ConfigError, ensureDatabase, migratePostgres } from '@quartet/common';
import { loadConfig } from '../config.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

try {
  const { databaseUrl } = loadConfig();
  const db = new URL(databaseUrl);
  if (await ensureDatabase(databaseUrl)) console.log(`created database ${db.pathname.slice(1)}`);
  const applied = await migratePostgres(databaseUrl, MIGRATIONS_DIR);
  console.log(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `migration failed: ${(err as Error).message}`);
  process.exit(1);
}
