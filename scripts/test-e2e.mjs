#!/usr/bin/env node
// `npm run test:e2e`: the end-to-end tests in test/ (tap, with the root .taprc), every one of them by default.
//
// QUARTET_E2E_SCOPE=embedded-path runs only those whose subject is the zero-install path itself — the quick start
// flow, the browser walk, the workshop guide, the bundles, shutdown and key storage on the embedded backends
// (PGlite, the in-process store). CI sets it for its second pass (.ci/run): the first pass has just run every
// end-to-end test against PostgreSQL and Redis, and the others (protocol features across processes: PAR, DPoP,
// private_key_jwt, FAPI 2.0, registration, the device grant, the lab) do not change with the backend, whose own
// code every workspace suite runs on both. Anything after the script's name goes to tap.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const TEST_DIR = join(import.meta.dirname, '..', 'test');
const EMBEDDED_PATH = ['e2e', 'browser', 'workshop-guide', 'images', 'shutdown', 'key-rotation'];
const SCOPES = ['all', 'embedded-path'];

const scope = process.env.QUARTET_E2E_SCOPE || 'all';
if (!SCOPES.includes(scope)) {
  console.error(`test-e2e: QUARTET_E2E_SCOPE must be one of ${SCOPES.join(', ')} (got "${scope}")`);
  process.exit(2);
}
const files = readdirSync(TEST_DIR)
  .filter((f) => f.endsWith('.test.ts'))
  .sort();
// A renamed or removed test must not drop out of the embedded pass unnoticed.
const missing = EMBEDDED_PATH.filter((name) => !files.includes(`${name}.test.ts`));
if (missing.length > 0) {
  console.error(`test-e2e: no test/${missing.join('.test.ts, test/')}.test.ts (update EMBEDDED_PATH)`);
  process.exit(2);
}
const selected = scope === 'all' ? files : files.filter((f) => EMBEDDED_PATH.includes(f.replace(/\.test\.ts$/, '')));
if (scope !== 'all') console.log(`test-e2e: ${scope}: ${selected.join(' ')}`);

const run = spawnSync('tap', [...selected.map((f) => `test/${f}`), ...process.argv.slice(2)], {
  cwd: join(TEST_DIR, '..'),
  stdio: 'inherit',
});
if (run.error) throw run.error;
process.exit(run.status ?? 1);
