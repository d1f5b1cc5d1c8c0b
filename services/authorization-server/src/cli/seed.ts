// `npm run seed`: the idempotent demo seed (users alice and bob, clients demo-client and workshop-cli) into
// DATABASE_URL, or the embedded database in DATA_DIR when it is unset. The seed itself is exported from
// src/seed.ts so that tests and the app (SEED_DEMO_DATA) run the same code.
import { readConfig } from '../config.js';
import { seedDatabase } from '../seed.js';

try {
  // Seeding is what SEED_DEMO_DATA does at start, so the same rule holds: refused when ISSUER is https.
  const result = await seedDatabase(readConfig({ ...process.env, SEED_DEMO_DATA: 'true' }));
  console.log(
    `Seeded clients ${result.clients.join(', ')}; ` +
      (result.usersCreated.length ? `created users ${result.usersCreated.join(', ')}` : 'users already present'),
  );
} catch (err) {
  // A message, not a stack trace: the usual causes (bad config, database in use or unreachable) are the user's to fix.
  console.error(`seed failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
