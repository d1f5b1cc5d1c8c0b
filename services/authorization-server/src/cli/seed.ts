// `npm run seed`: the idempotent demo seed (users alice and bob, clients demo-client and workshop-cli).
// The seed itself is exported from src/seed.ts so that tests and the e2e suite can call it as a function.
import { readConfig } from '../config.js';
import { seedDatabase } from '../seed.js';

const result = await seedDatabase(readConfig());
console.log(
  `Seeded clients ${result.clients.join(', ')}; ` +
    (result.usersCreated.length ? `created users ${result.usersCreated.join(', ')}` : 'users already present'),
);
