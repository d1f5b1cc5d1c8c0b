// `npm run migrate`: applies prisma/migrations (offline equivalent of `prisma migrate deploy`, recorded the
// same way) to DATABASE_URL — creating that database if needed — or, when it is unset, to the embedded
// database in DATA_DIR.
import { openDatabase } from '@quartet/common';
import { readConfig } from '../config.js';
import { MIGRATIONS_DIR } from '../database.js';

try {
  const config = readConfig();
  const db = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
  try {
    const applied = await db.migrate(MIGRATIONS_DIR);
    console.log(`${db.description}: ${applied.length ? `applied migrations ${applied.join(', ')}` : 'up to date'}`);
  } finally {
    await db.close();
  }
} catch (err) {
  // A message, not a stack trace: the usual causes (bad config, database in use or unreachable) are the user's to fix.
  console.error(`migrate failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
