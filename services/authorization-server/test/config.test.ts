// Configuration: defaults per the project contract; bad values stop the start with a message naming them.
import { join, resolve } from 'node:path';
import t from 'tap';
import { checkConfigRefuses, checkFlagSpellings } from '@quartet/testing';
import {
  assertionAlgorithms,
  clientAuthMethods,
  dpopAlgorithms,
  keyRotationProblem,
  readConfig,
} from '../src/config.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');

t.test('defaults follow the contract', async (t) => {
  const c = readConfig({});
  t.match(c, {
    PORT: 9000,
    HOST: '127.0.0.1',
    ISSUER: 'http://localhost:9000',
    REDIS_PREFIX: 'quartet:as:',
    RESOURCE_AUDIENCE: 'http://localhost:9100',
    KEY_ENCRYPTION_SECRET: 'dev-only-key-encryption-secret-change-me',
    DEMO_CLIENT_SECRET: 'demo-client-secret',
    ACCESS_TOKEN_TTL: 300,
    AUTHORIZATION_CODE_TTL: 60,
    LOGIN_SESSION_TTL: 3600,
    LOG_LEVEL: 'info',
    PASSWORD_SCRYPT_N: 32768,
    AUTO_MIGRATE: false,
    SEED_DEMO_DATA: false,
    WORKSHOP_MODE: false,
  });
});

t.test(
  'no DATABASE_URL / REDIS_URL means embedded: PGlite under the repository data/ folder, in-process store',
  async (t) => {
    const c = readConfig({});
    t.equal(c.DATABASE_URL, undefined);
    t.equal(c.REDIS_URL, undefined);
    t.equal(c.DATA_DIR, join(REPO_ROOT, 'data', 'authorization-server'), 'independent of the cwd');
    t.ok(c.DATA_DIR.startsWith('/'), 'absolute');
    // Empty means unset, e.g. `DATABASE_URL= npm start`.
    t.match(readConfig({ DATABASE_URL: '', REDIS_URL: '' }), { DATABASE_URL: undefined, REDIS_URL: undefined });
    // Set: the real servers, with nothing else to change.
    const real = readConfig({
      DATABASE_URL: 'postgresql://postgres@db:5432/quartet_auth',
      REDIS_URL: 'rediss://cache:6380',
    });
    t.equal(real.DATABASE_URL, 'postgresql://postgres@db:5432/quartet_auth');
    t.equal(real.REDIS_URL, 'rediss://cache:6380');
    t.equal(
      readConfig({ DATA_DIR: 'relative/dir' }).DATA_DIR,
      resolve('relative/dir'),
      'a relative DATA_DIR is made absolute',
    );
  },
);

t.test(
  'AUTO_MIGRATE, SEED_DEMO_DATA and WORKSHOP_MODE accept true/false/1/0 in any case; empty is unset',
  async (t) => {
    checkFlagSpellings(t, readConfig, ['AUTO_MIGRATE', 'SEED_DEMO_DATA', 'WORKSHOP_MODE'], {
      WORKSHOP_TRACE_SECRET: 's'.repeat(32),
    });
  },
);

t.test('PAR (RFC 9126) and DPoP nonces (RFC 9449 §8): defaults, flag spellings, bounds', async (t) => {
  t.match(readConfig({}), {
    REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: false,
    PAR_REQUEST_TTL: 60,
    MAX_PUSHED_AUTHORIZATIONS: 10000,
    RATE_LIMIT_PAR: 600,
    DPOP_NONCE_REQUIRED: false,
  });
  checkFlagSpellings(t, readConfig, ['REQUIRE_PUSHED_AUTHORIZATION_REQUESTS', 'DPOP_NONCE_REQUIRED']);
  t.equal(readConfig({ PAR_REQUEST_TTL: '5' }).PAR_REQUEST_TTL, 5);
  checkConfigRefuses(t, readConfig, [
    [{ PAR_REQUEST_TTL: '61' }, /PAR_REQUEST_TTL/],
    [{ PAR_REQUEST_TTL: '0' }, /PAR_REQUEST_TTL/],
    [{ MAX_PUSHED_AUTHORIZATIONS: '0' }, /MAX_PUSHED_AUTHORIZATIONS/],
    [{ RATE_LIMIT_PAR: '-1' }, /RATE_LIMIT_PAR/],
    [{ REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: 'always' }, /REQUIRE_PUSHED_AUTHORIZATION_REQUESTS/],
    [{ DPOP_NONCE_REQUIRED: 'yes' }, /DPOP_NONCE_REQUIRED/],
  ]);
});

t.test('PROFILE=fapi2 fixes what FAPI 2.0 §5.3.2 asks; a contrary setting stops the start', async (t) => {
  const fapi2 = readConfig({ PROFILE: 'fapi2' });
  t.match(fapi2, {
    PROFILE: 'fapi2',
    REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: true,
    DPOP_REQUIRED: true,
    REFRESH_TOKEN_ROTATION: false,
    CLIENT_METADATA_DOCUMENTS: false,
  });
  t.same(clientAuthMethods(fapi2), ['private_key_jwt']);
  t.same(dpopAlgorithms(fapi2), ['ES256', 'PS256', 'EdDSA', 'Ed25519']);
  t.same(assertionAlgorithms(fapi2), ['ES256', 'PS256', 'EdDSA', 'Ed25519']);
  const plain = readConfig({});
  t.match(plain, { PROFILE: 'default', DPOP_REQUIRED: false, REFRESH_TOKEN_ROTATION: true });
  t.same(clientAuthMethods(plain), ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']);
  t.same(dpopAlgorithms(plain), ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'PS384']);
  t.equal(readConfig({ PROFILE: 'fapi2', DPOP_REQUIRED: '1' }).DPOP_REQUIRED, true, 'the same value may be set');
  checkFlagSpellings(t, readConfig, ['DPOP_REQUIRED']);
  // REFRESH_TOKEN_ROTATION defaults to true: empty (unset) keeps it on.
  for (const [spelling, value] of [
    ['0', false],
    [' FALSE ', false],
    ['1', true],
    ['', true],
  ] as const)
    t.equal(readConfig({ REFRESH_TOKEN_ROTATION: spelling }).REFRESH_TOKEN_ROTATION, value, `"${spelling}"`);
  const fixed = (name: string, value: string) =>
    new RegExp(
      `^Invalid configuration: PROFILE=fapi2 requires ${name}=${value} \\(got "[a-z]+"\\); leave ${name} unset$`,
    );
  checkConfigRefuses(t, readConfig, [
    [{ PROFILE: 'fapi1' }, /^Invalid configuration: PROFILE must be equal to one of the allowed values$/],
    [{ PROFILE: 'fapi2', DPOP_REQUIRED: 'false' }, fixed('DPOP_REQUIRED', 'true')],
    [
      { PROFILE: 'fapi2', REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: '0' },
      fixed('REQUIRE_PUSHED_AUTHORIZATION_REQUESTS', 'true'),
    ],
    [{ PROFILE: 'fapi2', REFRESH_TOKEN_ROTATION: 'true' }, fixed('REFRESH_TOKEN_ROTATION', 'false')],
    [{ PROFILE: 'fapi2', CLIENT_METADATA_DOCUMENTS: 'true' }, fixed('CLIENT_METADATA_DOCUMENTS', 'false')],
    [
      { PROFILE: 'fapi2', AUTHORIZATION_CODE_TTL: '61' },
      /^Invalid configuration: PROFILE=fapi2 allows AUTHORIZATION_CODE_TTL of at most 60 seconds \(got 61\)$/,
    ],
  ]);
});

t.test('numbers are coerced from strings', async (t) => {
  t.equal(readConfig({ PORT: '9001', ACCESS_TOKEN_TTL: '60' }).PORT, 9001);
});

const bad: Array<[Record<string, string>, RegExp]> = [
  [{ PORT: 'abc' }, /PORT/],
  [{ PORT: '70000' }, /PORT/],
  [{ ISSUER: 'not a url' }, /ISSUER/],
  [{ ISSUER: 'http://localhost:9000/' }, /ISSUER.*trailing slash/],
  [{ ISSUER: 'http://localhost:9000?x=1' }, /ISSUER/],
  [{ ISSUER: 'http://localhost:9000#top' }, /ISSUER must not contain a query or fragment/],
  [{ RESOURCES: 'http://localhost:9200,not a url' }, /RESOURCES must be an absolute URL \(got "not a url"\)/],
  [{ RESOURCE_AUDIENCE: 'localhost:9100' }, /RESOURCE_AUDIENCE/],
  [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
  [{ REDIS_URL: 'http://x' }, /REDIS_URL/],
  [{ REDIS_URL: 'memory://' }, /REDIS_URL/],
  [{ AUTO_MIGRATE: 'yes' }, /AUTO_MIGRATE/],
  [{ SEED_DEMO_DATA: '2' }, /SEED_DEMO_DATA/],
  [{ WORKSHOP_MODE: 'on' }, /WORKSHOP_MODE/],
  [{ ACCESS_TOKEN_TTL: '0' }, /ACCESS_TOKEN_TTL/],
  [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  [{ PASSWORD_SCRYPT_N: '1000' }, /PASSWORD_SCRYPT_N/],
  [{ KEY_ENCRYPTION_SECRET: 'short' }, /KEY_ENCRYPTION_SECRET/],
];
for (const [env, message] of bad) {
  t.test(`refuses ${JSON.stringify(env)}`, async (t) => {
    t.throws(() => readConfig(env), { name: 'ConfigError', message });
  });
}

t.test('production (https ISSUER) refuses development settings, naming each variable', async (t) => {
  const https = { ISSUER: 'https://auth.example.com', RESOURCE_AUDIENCE: 'https://api.example.com' };
  const secrets = {
    KEY_ENCRYPTION_SECRET: 'k'.repeat(8) + '-a-real-key-encryption-secret',
    DEMO_CLIENT_SECRET: 'another-real-secret-0123456789abcdef',
  };
  t.throws(() => readConfig(https), {
    name: 'ConfigError',
    message:
      /^Invalid configuration: KEY_ENCRYPTION_SECRET is the development default; DEMO_CLIENT_SECRET is the development default — refused because ISSUER is https/,
  });
  const ok = { ...https, ...secrets };
  t.equal(readConfig(ok).ISSUER, 'https://auth.example.com');
  const refused: Array<[Record<string, string>, RegExp]> = [
    [{ WORKSHOP_MODE: 'true', WORKSHOP_TRACE_SECRET: 's'.repeat(32) }, /WORKSHOP_MODE must be false/],
    [{ SEED_DEMO_DATA: 'true' }, /SEED_DEMO_DATA must be false/],
    [{ DEMO_CLIENT_SECRET: 'CHANGE_ME' }, /DEMO_CLIENT_SECRET is a placeholder/],
    [{ DEMO_CLIENT_SECRET: 'a-real-secret-of-some-length' }, /DEMO_CLIENT_SECRET is shorter than 32 characters/],
    [{ KEY_ENCRYPTION_SECRET: 'replace-me-with-a-long-random-value-please' }, /KEY_ENCRYPTION_SECRET is a placeholder/],
    [
      { RESOURCE_AUDIENCE: 'http://api.example.com' },
      /RESOURCE_AUDIENCE must be https \(got http:\/\/api\.example\.com\)/,
    ],
    [
      { RESOURCES: 'https://docs.example.com,http://photos.example.com' },
      /RESOURCES must be https \(got http:\/\/photos\.example\.com\)/,
    ],
    [{ PASSWORD_SCRYPT_N: '1024' }, /PASSWORD_SCRYPT_N/],
    [
      { KEY_PUBLISH_DELAY: '30' },
      /KEY_PUBLISH_DELAY \(30 s\) is shorter than RESOURCE_SERVER_JWKS_COOLDOWN \+ KEY_RELOAD_INTERVAL \(40 s\)/,
    ],
  ];
  checkConfigRefuses(t, readConfig, refused, ok);
  t.doesNotThrow(() => readConfig({ ...ok, KEY_PUBLISH_DELAY: '40' }), 'cooldown + reload interval is enough');
  t.doesNotThrow(
    () => readConfig({ ...ok, KEY_PUBLISH_DELAY: '15', RESOURCE_SERVER_JWKS_COOLDOWN: '5' }),
    'a shorter resource-server cooldown allows a shorter delay',
  );
  // Development may keep the defaults, and a short publish delay is only warned about at start.
  t.doesNotThrow(() => readConfig({ ISSUER: 'http://localhost:9000', KEY_PUBLISH_DELAY: '1' }));
  t.match(keyRotationProblem(readConfig({ KEY_PUBLISH_DELAY: '1' })), /KEY_PUBLISH_DELAY \(1 s\) is shorter/);
  t.equal(keyRotationProblem(readConfig({})), null, 'the defaults are consistent');
});

t.test('workshop mode needs WORKSHOP_TRACE_SECRET; throttle and server settings are checked', async (t) => {
  t.throws(() => readConfig({ WORKSHOP_MODE: 'true' }), { name: 'ConfigError', message: /WORKSHOP_TRACE_SECRET/ });
  t.match(readConfig({}), {
    THROTTLE_LOGIN_ACCOUNT: 5,
    THROTTLE_LOGIN_ADDRESS: 100,
    THROTTLE_CLIENT: 20,
    THROTTLE_WINDOW: 900,
    THROTTLE_BLOCK: 60,
    THROTTLE_MAX_BLOCK: 3600,
    RATE_LIMIT_AUTHORIZE: 300,
    PASSWORD_HASH_CONCURRENCY: 2,
    PASSWORD_HASH_QUEUE: 32,
    MAX_PENDING_AUTHORIZATIONS: 10000,
    MAX_LOGIN_SESSIONS: 100000,
    REQUEST_TIMEOUT: 30,
    HEADERS_TIMEOUT: 10,
    KEEP_ALIVE_TIMEOUT: 5,
    TRUST_PROXY: '',
  });
  t.throws(() => readConfig({ THROTTLE_BLOCK: '100', THROTTLE_MAX_BLOCK: '50' }), { message: /THROTTLE_BLOCK/ });
  t.throws(() => readConfig({ TRUST_PROXY: 'everyone' }), { message: /TRUST_PROXY/ });
  t.throws(() => readConfig({ THROTTLE_LOGIN_ACCOUNT: '0' }), { message: /THROTTLE_LOGIN_ACCOUNT/ });
});

t.test('client registration (RFC 7591): off by default; token mode needs its initial access token', async (t) => {
  t.match(readConfig({}), { CLIENT_REGISTRATION: 'off', RATE_LIMIT_REGISTRATION: 20, MAX_DYNAMIC_CLIENTS: 10000 });
  t.throws(() => readConfig({ CLIENT_REGISTRATION: 'token' }), {
    name: 'ConfigError',
    message: 'Invalid configuration: CLIENT_REGISTRATION=token needs CLIENT_REGISTRATION_TOKEN',
  });
  t.throws(() => readConfig({ CLIENT_REGISTRATION: 'anyone' }), {
    name: 'ConfigError',
    message: /CLIENT_REGISTRATION/,
  });
  t.throws(() => readConfig({ CLIENT_REGISTRATION: 'token', CLIENT_REGISTRATION_TOKEN: 'short' }), {
    name: 'ConfigError',
    message: /CLIENT_REGISTRATION_TOKEN/,
  });
  t.equal(
    readConfig({ CLIENT_REGISTRATION: 'token', CLIENT_REGISTRATION_TOKEN: 'x'.repeat(32) }).CLIENT_REGISTRATION,
    'token',
  );
});
