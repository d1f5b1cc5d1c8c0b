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
    jwks: { cacheMaxAge: 600, maxStale: 86_400, cooldown: 30, fetchTimeout: 3 },
    maxConcurrentUploads: 4,
    photoQuota: { count: 1000, bytes: 100 * 1024 * 1024 },
    workshopMode: false,
    workshopTraceSecret: undefined,
    server: { TRUST_PROXY: '', REQUEST_TIMEOUT: 30, HEADERS_TIMEOUT: 10, KEEP_ALIVE_TIMEOUT: 5 },
    logLevel: 'info',
    production: false,
  });
});

t.test('values are read and coerced', async (t) => {
  const c = loadConfig({
    PORT: '8080',
    CLOCK_TOLERANCE: '0',
    RESOURCE_ID: 'https://api.example',
    AUTHORIZATION_SERVER: 'https://as.example',
    LOG_LEVEL: 'warn',
  });
  t.equal(c.port, 8080);
  t.equal(c.clockTolerance, 0);
  t.equal(c.production, true);
  t.equal(c.logLevel, 'warn');
});

t.test('JWKS cache and upload settings are read; the fetch timeout may be fractional', async (t) => {
  const c = loadConfig({
    JWKS_CACHE_MAX_AGE: '120',
    JWKS_MAX_STALE: '0',
    JWKS_COOLDOWN: '5',
    JWKS_FETCH_TIMEOUT: '0.5',
    MAX_CONCURRENT_UPLOADS: '16',
    PHOTO_QUOTA_COUNT: '10',
    PHOTO_QUOTA_BYTES: '5000000',
  });
  t.same(c.jwks, { cacheMaxAge: 120, maxStale: 0, cooldown: 5, fetchTimeout: 0.5 });
  t.equal(c.maxConcurrentUploads, 16);
  t.same(c.photoQuota, { count: 10, bytes: 5_000_000 });
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
  for (const [value, expected] of [
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ] as const) {
    const c = loadConfig({
      AUTO_MIGRATE: value,
      SEED_DEMO_DATA: value,
      WORKSHOP_MODE: value,
      WORKSHOP_TRACE_SECRET: 's'.repeat(32),
    });
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
    [{ JWKS_CACHE_MAX_AGE: '0' }, /JWKS_CACHE_MAX_AGE must be >= 1/],
    [{ JWKS_CACHE_MAX_AGE: '1.5' }, /JWKS_CACHE_MAX_AGE must be integer/],
    [{ JWKS_MAX_STALE: '-1' }, /JWKS_MAX_STALE must be >= 0/],
    [{ JWKS_COOLDOWN: '0' }, /JWKS_COOLDOWN must be >= 1/],
    [{ JWKS_FETCH_TIMEOUT: '0' }, /JWKS_FETCH_TIMEOUT must be >= 0.1/],
    [{ JWKS_FETCH_TIMEOUT: '90' }, /JWKS_FETCH_TIMEOUT must be <= 60/],
    [{ JWKS_FETCH_TIMEOUT: 'soon' }, /JWKS_FETCH_TIMEOUT must be number/],
    [{ MAX_CONCURRENT_UPLOADS: '0' }, /MAX_CONCURRENT_UPLOADS must be >= 1/],
    [{ PHOTO_QUOTA_COUNT: '0' }, /PHOTO_QUOTA_COUNT must be >= 1/],
    [{ PHOTO_QUOTA_BYTES: 'lots' }, /PHOTO_QUOTA_BYTES must be integer/],
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

t.test('production (https RESOURCE_ID) refuses workshop mode and demo seeding, naming each', async (t) => {
  const prod = { RESOURCE_ID: 'https://api.example', AUTHORIZATION_SERVER: 'https://auth.example' };
  t.equal(loadConfig(prod).production, true);
  t.throws(() => loadConfig({ ...prod, SEED_DEMO_DATA: 'true' }), {
    name: 'ConfigError',
    message: /SEED_DEMO_DATA must be false — refused because RESOURCE_ID is https/,
  });
  t.throws(() => loadConfig({ ...prod, WORKSHOP_MODE: 'true', WORKSHOP_TRACE_SECRET: 's'.repeat(32) }), {
    name: 'ConfigError',
    message: /WORKSHOP_MODE must be false/,
  });
});

t.test('workshop mode needs WORKSHOP_TRACE_SECRET; server settings are read and checked', async (t) => {
  t.throws(() => loadConfig({ WORKSHOP_MODE: 'true' }), { name: 'ConfigError', message: /WORKSHOP_TRACE_SECRET/ });
  t.same(loadConfig({}).server, { TRUST_PROXY: '', REQUEST_TIMEOUT: 30, HEADERS_TIMEOUT: 10, KEEP_ALIVE_TIMEOUT: 5 });
  t.throws(() => loadConfig({ TRUST_PROXY: 'anyone' }), { name: 'ConfigError', message: /TRUST_PROXY/ });
  t.throws(() => loadConfig({ REQUEST_TIMEOUT: '5', HEADERS_TIMEOUT: '9' }), {
    name: 'ConfigError',
    message: /HEADERS_TIMEOUT/,
  });
});
