// `npm run seed`: the idempotent demo seed (src/lib/demo-data.ts) against DATABASE_URL, or the embedded
// database in DATA_DIR when it is unset. The database must be migrated first (`npm run migrate`).
import { ConfigError } from '@quartet/common';
import { databaseLocation, readConfig, type Config } from '../config.js';
import { seedDemoData } from '../lib/demo-data.js';
import { openPrisma } from '../lib/prisma.js';

let config: Config;
try {
  // Seeding is what SEED_DEMO_DATA does at start, so the same rule holds: refused when RESOURCE_ID is https.
  config = readConfig({ ...process.env, SEED_DEMO_DATA: 'true' });
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : String(err));
  process.exit(1);
}
try {
  const db = await openPrisma(databaseLocation(config));
  try {
    const { photos, documents } = await seedDemoData(db.prisma);
    console.log(`seeded ${photos} photos and ${documents} documents for alice and bob (${db.handle.description})`);
  } finally {
    await db.close();
  }
} catch (err) {
  console.error(`seed failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
