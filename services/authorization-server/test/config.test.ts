// Configuration: defaults per the project contract; bad values stop the start with a message naming them.
import t from 'tap';
import { readConfig } from '../src/config.js';

t.test('defaults follow the contract', async (t) => {
  const c = readConfig({});
  t.match(c, {
    PORT: 9000,
    HOST: '127.0.0.1',
    ISSUER: 'http://localhost:9000',
    DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/quartet_auth',
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_PREFIX: 'quartet:as:',
    RESOURCE_AUDIENCE: 'http://localhost:9100',
    KEY_ENCRYPTION_SECRET: 'dev-only-key-encryption-secret-change-me',
    DEMO_CLIENT_SECRET: 'demo-client-secret',
    ACCESS_TOKEN_TTL: 300,
    AUTHORIZATION_CODE_TTL: 60,
    LOGIN_SESSION_TTL: 3600,
    LOG_LEVEL: 'info',
    PASSWORD_SCRYPT_N: 32768,
  });
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
  [{ RESOURCE_AUDIENCE: 'localhost:9100' }, /RESOURCE_AUDIENCE/],
  [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
  [{ REDIS_URL: 'http://x' }, /REDIS_URL/],
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

t.test('production (https ISSUER) refuses development defaults and a low scrypt cost', async (t) => {
  const https = { ISSUER: 'https://auth.example.com' };
  t.throws(() => readConfig(https), { message: /KEY_ENCRYPTION_SECRET, DEMO_CLIENT_SECRET/ });
  t.throws(() => readConfig({ ...https, KEY_ENCRYPTION_SECRET: 'a-real-secret-of-some-length' }), { message: /DEMO_CLIENT_SECRET/ });
  const ok = { ...https, KEY_ENCRYPTION_SECRET: 'a-real-secret-of-some-length', DEMO_CLIENT_SECRET: 'another-real-secret' };
  t.equal(readConfig(ok).ISSUER, 'https://auth.example.com');
  t.throws(() => readConfig({ ...ok, PASSWORD_SCRYPT_N: '1024' }), { message: /PASSWORD_SCRYPT_N/ });
  // Development may keep the defaults.
  t.doesNotThrow(() => readConfig({ ISSUER: 'http://localhost:9000' }));
});
