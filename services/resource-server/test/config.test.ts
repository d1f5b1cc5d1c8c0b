// Config: contract defaults under the environment variable names, and a bad value stops start with a message
// naming the variable. DATABASE_URL unset means the embedded database in DATA_DIR (by default the repository's
// git-ignored data/ folder). The derived values (production, database location, quota, verifier options) too.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ConfigError } from '@quartet/common';
import { checkConfigRefuses, checkFlagSpellings } from '@quartet/testing';
import {
  databaseLocation,
  dpopAlgorithms,
  photoQuota,
  production,
  readConfig,
  verifierOptions,
} from '../src/config.js';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

t.test('defaults match the contract', async (t) => {
  const config = readConfig({});
  t.strictSame(config, {
    PORT: 9100,
    HOST: '127.0.0.1',
    RESOURCE_ID: 'http://localhost:9100',
    AUTHORIZATION_SERVER: 'http://localhost:9000',
    DATA_DIR: join(REPO_ROOT, 'data', 'resource-server'),
    AUTO_MIGRATE: false,
    SEED_DEMO_DATA: false,
    WORKSHOP_MODE: false,
    WORKSHOP_TRACE_SECRET: undefined,
    CLOCK_TOLERANCE: 5,
    JWKS_CACHE_MAX_AGE: 600,
    JWKS_MAX_STALE: 86_400,
    JWKS_COOLDOWN: 30,
    JWKS_FETCH_TIMEOUT: 3,
    MAX_CONCURRENT_UPLOADS: 4,
    PHOTO_QUOTA_COUNT: 1000,
    PHOTO_QUOTA_BYTES: 100 * 1024 * 1024,
    PROFILE: 'default',
    DPOP_REQUIRED: false,
    DPOP_PROOF_LIFETIME: 60,
    REDIS_PREFIX: 'quartet:rs:',
    MAX_DPOP_PROOFS: 100_000,
    TRUST_PROXY: '',
    REQUEST_TIMEOUT: 30,
    HEADERS_TIMEOUT: 10,
    KEEP_ALIVE_TIMEOUT: 5,
    LOG_LEVEL: 'info',
  });
  t.equal(production(config), false);
  t.strictSame(databaseLocation(config), {
    databaseUrl: undefined,
    dataDir: join(REPO_ROOT, 'data', 'resource-server'),
  });
  t.strictSame(photoQuota(config), { count: 1000, bytes: 100 * 1024 * 1024 });
});

t.test('verifier options: whom to trust, for which audience, the JWKS cache in milliseconds', async (t) => {
  t.strictSame(verifierOptions(readConfig({})), {
    issuer: 'http://localhost:9000',
    audience: 'http://localhost:9100',
    clockTolerance: 5,
    requireHttps: false,
    cacheMaxAge: 600_000,
    maxStale: 86_400_000,
    cooldownDuration: 30_000,
    timeoutDuration: 3000,
  });
  const prod = verifierOptions(
    readConfig({
      RESOURCE_ID: 'https://api.example',
      AUTHORIZATION_SERVER: 'https://as.example/',
      JWKS_FETCH_TIMEOUT: '0.25',
    }),
  );
  t.equal(prod.requireHttps, true, 'https RESOURCE_ID: the keys only over https');
  t.equal(prod.issuer, 'https://as.example/', 'the issuer exactly as configured (RFC 8414 §3.3)');
  t.equal(prod.timeoutDuration, 250);
});

t.test('values are read and coerced', async (t) => {
  const c = readConfig({
    PORT: '8080',
    CLOCK_TOLERANCE: '0',
    RESOURCE_ID: 'https://api.example',
    AUTHORIZATION_SERVER: 'https://as.example',
    LOG_LEVEL: 'warn',
  });
  t.equal(c.PORT, 8080);
  t.equal(c.CLOCK_TOLERANCE, 0);
  t.equal(production(c), true);
  t.equal(c.LOG_LEVEL, 'warn');
});

t.test('JWKS cache and upload settings are read; the fetch timeout may be fractional', async (t) => {
  const c = readConfig({
    JWKS_CACHE_MAX_AGE: '120',
    JWKS_MAX_STALE: '0',
    JWKS_COOLDOWN: '5',
    JWKS_FETCH_TIMEOUT: '0.5',
    MAX_CONCURRENT_UPLOADS: '16',
    PHOTO_QUOTA_COUNT: '10',
    PHOTO_QUOTA_BYTES: '5000000',
  });
  t.same(
    [c.JWKS_CACHE_MAX_AGE, c.JWKS_MAX_STALE, c.JWKS_COOLDOWN, c.JWKS_FETCH_TIMEOUT, c.MAX_CONCURRENT_UPLOADS],
    [120, 0, 5, 0.5, 16],
  );
  t.strictSame(photoQuota(c), { count: 10, bytes: 5_000_000 });
});

t.test('DPoP settings are read; an empty REDIS_URL means the in-process jti guard', async (t) => {
  const c = readConfig({
    DPOP_REQUIRED: 'TRUE',
    DPOP_PROOF_LIFETIME: '30',
    MAX_DPOP_PROOFS: '5000',
    REDIS_URL: 'redis://cache:6379',
    REDIS_PREFIX: 'rs:',
  });
  t.equal(c.DPOP_REQUIRED, true);
  t.equal(c.DPOP_PROOF_LIFETIME, 30);
  t.equal(c.MAX_DPOP_PROOFS, 5000);
  t.equal(c.REDIS_URL, 'redis://cache:6379');
  t.equal(c.REDIS_PREFIX, 'rs:');
  t.equal(readConfig({ REDIS_URL: '' }).REDIS_URL, undefined);
});

t.test('DATABASE_URL unset (or empty) means embedded, in DATA_DIR under the repository data/ folder', async (t) => {
  for (const env of [{}, { DATABASE_URL: '' }, { DATABASE_URL: '  ' }]) {
    const c = readConfig(env);
    t.equal(c.DATABASE_URL, undefined, JSON.stringify(env));
    t.equal(c.DATA_DIR, join(REPO_ROOT, 'data', 'resource-server'));
  }
  t.equal(readConfig({ DATA_DIR: '/var/lib/quartet-rs' }).DATA_DIR, '/var/lib/quartet-rs');
  t.equal(readConfig({ DATA_DIR: 'relative/dir' }).DATA_DIR, resolve('relative/dir'), 'made absolute');
  const real = readConfig({ DATABASE_URL: 'postgresql://rs@db.example:6543/quartet_resource' });
  t.equal(real.DATABASE_URL, 'postgresql://rs@db.example:6543/quartet_resource');
  t.strictSame(databaseLocation(real), {
    databaseUrl: 'postgresql://rs@db.example:6543/quartet_resource',
    dataDir: join(REPO_ROOT, 'data', 'resource-server'),
  });
  t.equal(readConfig({ DATABASE_URL: 'postgres://db.example/x' }).DATABASE_URL, 'postgres://db.example/x');
});

t.test(
  'AUTO_MIGRATE, SEED_DEMO_DATA and WORKSHOP_MODE accept true/false/1/0 in any case; empty is unset',
  async (t) => {
    checkFlagSpellings(t, readConfig, ['AUTO_MIGRATE', 'SEED_DEMO_DATA', 'WORKSHOP_MODE'], {
      WORKSHOP_TRACE_SECRET: 's'.repeat(32),
    });
    t.same(
      [readConfig({ AUTO_MIGRATE: 'true' }).SEED_DEMO_DATA, readConfig({ SEED_DEMO_DATA: 'true' }).AUTO_MIGRATE],
      [false, false],
      'independent of each other',
    );
  },
);

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
    [{ AUTO_MIGRATE: 'yes' }, /AUTO_MIGRATE must be boolean/],
    [{ SEED_DEMO_DATA: 'y' }, /SEED_DEMO_DATA must be boolean/],
    [{ WORKSHOP_MODE: 'on' }, /WORKSHOP_MODE must be boolean/],
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
    [{ DPOP_REQUIRED: 'on' }, /DPOP_REQUIRED must be boolean/],
    [{ DPOP_PROOF_LIFETIME: '0' }, /DPOP_PROOF_LIFETIME must be >= 1/],
    [{ DPOP_PROOF_LIFETIME: '600' }, /DPOP_PROOF_LIFETIME must be <= 300/],
    [{ MAX_DPOP_PROOFS: '10' }, /MAX_DPOP_PROOFS must be >= 100/],
    [{ REDIS_URL: 'http://redis:6379' }, /REDIS_URL/],
    [{ PROFILE: 'fapi1' }, /^Invalid configuration: PROFILE must be equal to one of the allowed values$/],
    [
      { PROFILE: 'fapi2', DPOP_REQUIRED: '0' },
      /^Invalid configuration: PROFILE=fapi2 requires DPOP_REQUIRED=true \(got "false"\); leave DPOP_REQUIRED unset$/,
    ],
  ];
  checkConfigRefuses(t, readConfig, cases);
});

t.test('PROFILE=fapi2 fixes DPOP_REQUIRED and narrows the proof algorithms (FAPI 2.0 §5.3.3, §5.4.1)', async (t) => {
  const fapi2 = readConfig({ PROFILE: 'fapi2' });
  t.equal(fapi2.PROFILE, 'fapi2');
  t.equal(fapi2.DPOP_REQUIRED, true);
  t.same(dpopAlgorithms(fapi2), ['ES256', 'PS256', 'EdDSA', 'Ed25519']);
  t.equal(readConfig({ PROFILE: 'fapi2', DPOP_REQUIRED: 'true' }).DPOP_REQUIRED, true, 'the same value may be set');
  const plain = readConfig({});
  t.equal(plain.PROFILE, 'default');
  t.equal(plain.DPOP_REQUIRED, false);
  t.same(dpopAlgorithms(plain), ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'PS384']);
  t.equal(readConfig({ PROFILE: '' }).PROFILE, 'default', 'empty means unset');
});

t.test('production (https RESOURCE_ID) requires an https AUTHORIZATION_SERVER', async (t) => {
  const err = t.throws(() => readConfig({ RESOURCE_ID: 'https://api.example' }));
  t.type(err, ConfigError);
  t.match((err as Error).message, /AUTHORIZATION_SERVER must be an https URL when RESOURCE_ID is https/);
});

t.test('production (https RESOURCE_ID) refuses workshop mode and demo seeding, naming each', async (t) => {
  const prod = { RESOURCE_ID: 'https://api.example', AUTHORIZATION_SERVER: 'https://auth.example' };
  t.equal(production(readConfig(prod)), true);
  t.throws(() => readConfig({ ...prod, SEED_DEMO_DATA: 'true' }), {
    name: 'ConfigError',
    message: /SEED_DEMO_DATA must be false — refused because RESOURCE_ID is https/,
  });
  t.throws(() => readConfig({ ...prod, WORKSHOP_MODE: 'true', WORKSHOP_TRACE_SECRET: 's'.repeat(32) }), {
    name: 'ConfigError',
    message: /WORKSHOP_MODE must be false/,
  });
});

t.test('workshop mode needs WORKSHOP_TRACE_SECRET; server settings are read and checked', async (t) => {
  t.throws(() => readConfig({ WORKSHOP_MODE: 'true' }), { name: 'ConfigError', message: /WORKSHOP_TRACE_SECRET/ });
  t.equal(
    readConfig({ WORKSHOP_MODE: 'true', WORKSHOP_TRACE_SECRET: 's'.repeat(32) }).WORKSHOP_TRACE_SECRET,
    's'.repeat(32),
  );
  t.equal(readConfig({ TRUST_PROXY: 'loopback' }).TRUST_PROXY, 'loopback');
  t.throws(() => readConfig({ TRUST_PROXY: 'anyone' }), { name: 'ConfigError', message: /TRUST_PROXY/ });
  t.throws(() => readConfig({ REQUEST_TIMEOUT: '5', HEADERS_TIMEOUT: '9' }), {
    name: 'ConfigError',
    message: /HEADERS_TIMEOUT/,
  });
});
