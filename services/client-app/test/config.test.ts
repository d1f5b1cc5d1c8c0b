import t from 'tap';
import { checkConfigRefuses } from '@quartet/testing';
import { readConfig, redirectUri } from '../src/config.js';

t.test('defaults follow the fixed contract', async (t) => {
  const c = readConfig({});
  t.equal(c.PORT, 3000);
  t.equal(c.HOST, '127.0.0.1');
  t.equal(c.PUBLIC_URL, 'http://localhost:3000');
  t.equal(c.AUTHORIZATION_SERVER, 'http://localhost:9000');
  t.equal(c.RESOURCE_SERVER, 'http://localhost:9100');
  t.equal(c.CLIENT_ID, 'demo-client');
  t.equal(c.CLIENT_SECRET, 'demo-client-secret');
  t.equal(c.SCOPES, 'photos:read documents:read');
  t.equal(c.REDIS_URL, undefined, 'no REDIS_URL default: unset means the in-process store');
  t.equal(c.REDIS_PREFIX, 'quartet:client:');
  t.equal(c.SESSION_TTL, 3600);
  t.equal(redirectUri(c), 'http://localhost:3000/callback');
});

t.test('REDIS_URL: unset or empty is valid (in-process store); set, it is kept as given', async (t) => {
  t.doesNotThrow(() => readConfig({ PORT: '3001', SESSION_TTL: '600' }), 'a config without REDIS_URL is valid');
  t.equal(readConfig({}).REDIS_URL, undefined, 'unset stays unset (no default)');
  t.equal(readConfig({ REDIS_URL: '' }).REDIS_URL, undefined, 'empty counts as unset');
  t.equal(readConfig({ REDIS_URL: 'redis://cache.internal:6380' }).REDIS_URL, 'redis://cache.internal:6380');
  t.equal(
    readConfig({ REDIS_URL: 'rediss://user:pw@cache.example.com:6380/2' }).REDIS_URL,
    'rediss://user:pw@cache.example.com:6380/2',
  );
  t.throws(
    () => readConfig({ REDIS_URL: 'memory://' }),
    { name: 'ConfigError', message: /REDIS_URL/ },
    'no memory:// scheme: unset it instead',
  );
});

t.test('a trailing slash on PUBLIC_URL does not change the redirect URI', async (t) => {
  t.equal(redirectUri(readConfig({ PUBLIC_URL: 'http://localhost:3000/' })), 'http://localhost:3000/callback');
});

t.test('bad values stop start with a message naming the variable', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'abc' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ PUBLIC_URL: 'localhost:3000' }, /PUBLIC_URL/],
    [{ AUTHORIZATION_SERVER: 'ftp://as' }, /AUTHORIZATION_SERVER/],
    [{ RESOURCE_SERVER: 'not a url' }, /RESOURCE_SERVER/],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, /REDIS_URL/],
    [{ SESSION_TTL: '5' }, /SESSION_TTL/],
    [{ CLIENT_ID: '' }, /CLIENT_ID/],
    [{ SCOPES: 'photos:read  documents:read' }, /SCOPES/],
    [{ SCOPES: 'documents:read' }, /SCOPES/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ PUBLIC_URL: 'http://localhost:3000/?x=1' }, /PUBLIC_URL/],
  ];
  checkConfigRefuses(t, readConfig, cases);
});

t.test('production (https PUBLIC_URL) refuses development settings, naming each variable', async (t) => {
  const prod = {
    PUBLIC_URL: 'https://photos.example.com',
    AUTHORIZATION_SERVER: 'https://auth.example.com',
    RESOURCE_SERVER: 'https://api.example.com',
    CLIENT_SECRET: 'a-real-secret-from-the-vault-0123456789',
  };
  t.ok(readConfig(prod));
  const refused: [Record<string, string>, RegExp][] = [
    [{ CLIENT_SECRET: 'demo-client-secret' }, /CLIENT_SECRET is the development default/],
    [{ CLIENT_SECRET: 'CHANGE_ME' }, /CLIENT_SECRET is a placeholder/],
    [{ CLIENT_SECRET: 'a-real-but-short-secret' }, /CLIENT_SECRET is shorter than 32 characters/],
    [{ AUTHORIZATION_SERVER: 'http://auth.example.com' }, /AUTHORIZATION_SERVER must be https/],
    [{ RESOURCE_SERVER: 'http://api.example.com' }, /RESOURCE_SERVER must be https/],
    [{ WORKSHOP_MODE: 'true', WORKSHOP_TRACE_SECRET: 's'.repeat(32) }, /WORKSHOP_MODE must be false/],
    // The lab's demo logins and its second resource are named too when workshop mode is asked for.
    [
      { WORKSHOP_MODE: 'true', WORKSHOP_TRACE_SECRET: 's'.repeat(32) },
      /LAB_PASSWORD is the development default; LAB_ATTACKER_PASSWORD is the development default/,
    ],
    [{ WORKSHOP_MODE: 'true', WORKSHOP_TRACE_SECRET: 's'.repeat(32) }, /LAB_OTHER_RESOURCE must be https/],
  ];
  checkConfigRefuses(t, readConfig, refused, prod);
});

t.test('workshop mode needs WORKSHOP_TRACE_SECRET (32+ characters)', async (t) => {
  t.throws(() => readConfig({ WORKSHOP_MODE: 'true' }), {
    name: 'ConfigError',
    message: /WORKSHOP_TRACE_SECRET/,
  });
  t.throws(() => readConfig({ WORKSHOP_MODE: 'true', WORKSHOP_TRACE_SECRET: 'short' }), {
    name: 'ConfigError',
    message: /WORKSHOP_TRACE_SECRET/,
  });
  t.equal(readConfig({ WORKSHOP_MODE: 'true', WORKSHOP_TRACE_SECRET: 's'.repeat(32) }).WORKSHOP_MODE, true);
});

t.test('server settings: timeouts and trusted proxies are checked', async (t) => {
  const c = readConfig({});
  t.match(c, { REQUEST_TIMEOUT: 30, HEADERS_TIMEOUT: 10, KEEP_ALIVE_TIMEOUT: 5, TRUST_PROXY: '' });
  t.equal(
    readConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1, loopback, fd00::/8' }).TRUST_PROXY,
    '10.0.0.0/8, 127.0.0.1, loopback, fd00::/8',
  );
  checkConfigRefuses(t, readConfig, [
    [{ TRUST_PROXY: 'true' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '*' }, /TRUST_PROXY/],
    [{ HEADERS_TIMEOUT: '60', REQUEST_TIMEOUT: '30' }, /HEADERS_TIMEOUT/],
    [{ KEEP_ALIVE_TIMEOUT: '0' }, /KEEP_ALIVE_TIMEOUT/],
  ]);
});

t.test('USE_PAR and USE_DPOP: off by default (plain redirect, Bearer tokens); flags in any spelling', async (t) => {
  const c = readConfig({});
  t.equal(c.USE_PAR, false);
  t.equal(c.USE_DPOP, false);
  const on = readConfig({ USE_PAR: 'TRUE', USE_DPOP: '1' });
  t.equal(on.USE_PAR, true);
  t.equal(on.USE_DPOP, true);
  t.equal(readConfig({ USE_PAR: '0', USE_DPOP: '' }).USE_DPOP, false, 'empty is the default');
  t.throws(() => readConfig({ USE_DPOP: 'maybe' }), { name: 'ConfigError', message: /USE_DPOP/ });
});
