// `npm run migrate`: creates the database if needed and applies prisma/migrations (offline equivalent of
// `prisma migrate deploy`, recorded the same way).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDatabase, migratePostgres } from '@quartet/common';
import { readConfig } from '../config.js';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../prisma/migrations');

const config = readConfig();
const created = await ensureDatabase(config.DATABASE_URL);
if (created) console.log(`Created database ${new URL(config.DATABASE_URL).pathname.slice(1)}`);
const applied = await migratePostgres(config.DATABASE_URL, MIGRATIONS_DIR);
console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database is up to date');
