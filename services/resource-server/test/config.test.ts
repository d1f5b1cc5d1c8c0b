// Config: contract defaults, and a bad value stops start with a message naming the variable. DATABASE_URL
// unset means the embedded database in DATA_DIR (by default the repository's git-ignored data/ folder).
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ConfigError } from '@quartet/common';
import { loadConfig } from '../src/config.js';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

t.test('defaults match the contract', async (t) => {
  t.same(loadConfig({}), {
    port: 9100,
    host: '127.0.0.1',
    resourceId: 'http://localhost:9100',
    authorizationServer: 'http://localhost:9000',
    databaseUrl: undefined,
    dataDir: join(REPO_ROOT, 'data', 'resource-server'),
    autoMigrate: false,
    seedDemoData: false,
    clockTolerance: 5,
    workshopMode: false,
    logLevel: 'info',
    production: false,
  });
});

t.test('values are read and coerced', async (t) => {
  const c = loadConfig({ PORT: '8080', CLOCK_TOLERANCE: '0', RESOURCE_ID: 'https://api.example', AUTHORIZATION_SERVER: 'https://as.example', LOG_LEVEL: 'warn' });
  t.equal(c.port, 8080);
  t.equal(c.clockTolerance, 0);
  t.equal(c.production, true);
  t.equal(c.logLevel, 'warn');
});

t.test('DATABASE_URL unset (or empty) means embedded, in DATA_DIR under the repository data/ folder', async (t) => {
  for (const env of [{}, { DATABASE_URL: '' }]) {
    const c = loadConfig(env);
    t.equal(c.databaseUrl, undefined, JSON.stringify(env));
    t.equal(c.dataDir, join(REPO_ROOT, 'data', 'resource-server'));
  }
  t.equal(loadConfig({ DATA_DIR: '/var/lib/quartet-rs' }).dataDir, '/var/lib/quartet-rs');
  t.equal(loadConfig({ DATA_DIR: 'relative/dir' }).dataDir, resolve('relative/dir'), 'made absolute');
  const real = loadConfig({ DATABASE_URL: 'postgresql://rs@db.example:6543/quartet_resource' });
  t.equal(real.databaseUrl, 'postgresql://rs@db.example:6543/quartet_resource');
  t.equal(loadConfig({ DATABASE_URL: 'postgres://db.example/x' }).databaseUrl, 'postgres://db.example/x');
});

t.test('AUTO_MIGRATE, SEED_DEMO_DATA and WORKSHOP_MODE accept true/false/1/0', async (t) => {
  for (const [value, expected] of [['true', true], ['1', true], ['false', false], ['0', false]] as const) {
    const c = loadConfig({ AUTO_MIGRATE: value, SEED_DEMO_DATA: value, WORKSHOP_MODE: value });
    t.equal(c.autoMigrate, expected, `AUTO_MIGRATE=${value}`);
    t.equal(c.seedDemoData, expected, `SEED_DEMO_DATA=${value}`);
    t.equal(c.workshopMode, expected, `WORKSHOP_MODE=${value}`);
  }
  t.same(
    [loadConfig({ AUTO_MIGRATE: 'true' }).seedDemoData, loadConfig({ SEED_DEMO_DATA: 'true' }).autoMigrate],
    [false, false],
    'independent of each other',
  );
});

t.test('bad values name the variable', async (t) => {
  const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ PORT: 'abc' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ CLOCK_TOLERANCE: '-1' }, /CLOCK_TOLERANCE/],
    [{ CLOCK_TOLERANCE: '3600' }, /CLOCK_TOLERANCE/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ RESOURCE_ID: 'not a url' }, /RESOURCE_ID must be an absolute URL/],
    [{ RESOURCE_ID: 'ftp://x.example' }, /RESOURCE_ID must be an http or https URL/],
    [{ AUTHORIZATION_SERVER: 'http://as.example/?x=1' }, /AUTHORIZATION_SERVER must not contain a query or fragment/],
    [{ AUTHORIZATION_SERVER: 'http://as.example#frag' }, /AUTHORIZATION_SERVER must not contain a query or fragment/],
    [{ DATABASE_URL: 'mysql://x/y' }, /DATABASE_URL must be a postgresql:\/\/ URL/],
    [{ DATABASE_URL: 'nonsense' }, /DATABASE_URL must be a postgresql:\/\/ URL/],
    [{ AUTO_MIGRATE: 'yes' }, /AUTO_MIGRATE must be true, false, 1 or 0 \(got "yes"\)/],
    [{ SEED_DEMO_DATA: 'TRUE ' }, /SEED_DEMO_DATA must be true, false, 1 or 0/],
    [{ WORKSHOP_MODE: 'on' }, /WORKSHOP_MODE must be true, false, 1 or 0 \(got "on"\)/],
    [{ DATA_DIR: '' }, /DATA_DIR/],
  ];
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', message }, JSON.stringify(env));
  }
});

t.test('production (https RESOURCE_ID) requires an https AUTHORIZATION_SERVER', async (t) => {
  const err = t.throws(() => loadConfig({ RESOURCE_ID: 'https://api.example' }));
  t.type(err, ConfigError);
  t.match((err as Error).message, /AUTHORIZATION_SERVER must be an https URL when RESOURCE_ID is https/);
});
