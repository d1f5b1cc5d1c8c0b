import t from 'tap';
import { ConfigError } from '@quartet/common';
import { loadClientAppConfig, redirectUri } from '../src/config.js';

t.test('defaults follow the fixed contract', async (t) => {
  const c = loadClientAppConfig({});
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
  t.doesNotThrow(() => loadClientAppConfig({ PORT: '3001', SESSION_TTL: '600' }), 'a config without REDIS_URL is valid');
  t.equal(loadClientAppConfig({}).REDIS_URL, undefined, 'unset stays unset (no default)');
  t.equal(loadClientAppConfig({ REDIS_URL: '' }).REDIS_URL, undefined, 'empty counts as unset');
  t.equal(loadClientAppConfig({ REDIS_URL: 'redis://cache.internal:6380' }).REDIS_URL, 'redis://cache.internal:6380');
  t.equal(loadClientAppConfig({ REDIS_URL: 'rediss://user:pw@cache.example.com:6380/2' }).REDIS_URL, 'rediss://user:pw@cache.example.com:6380/2');
  t.throws(() => loadClientAppConfig({ REDIS_URL: 'memory://' }), { name: 'ConfigError', message: /REDIS_URL/ }, 'no memory:// scheme: unset it instead');
});

t.test('a trailing slash on PUBLIC_URL does not change the redirect URI', async (t) => {
  t.equal(redirectUri(loadClientAppConfig({ PUBLIC_URL: 'http://localhost:3000/' })), 'http://localhost:3000/callback');
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
  for (const [env, re] of cases) {
    t.throws(() => loadClientAppConfig(env), { name: 'ConfigError', message: re }, JSON.stringify(env));
  }
});

t.test('production (https PUBLIC_URL) refuses the demo secret and http servers', async (t) => {
  const prod = {
    PUBLIC_URL: 'https://photos.example.com',
    AUTHORIZATION_SERVER: 'https://auth.example.com',
    RESOURCE_SERVER: 'https://api.example.com',
    CLIENT_SECRET: 'a-real-secret-from-the-vault',
  };
  t.ok(loadClientAppConfig(prod));
  t.throws(() => loadClientAppConfig({ ...prod, CLIENT_SECRET: 'demo-client-secret' }), { message: /CLIENT_SECRET/ });
  t.throws(() => loadClientAppConfig({ ...prod, AUTHORIZATION_SERVER: 'http://auth.example.com' }), { message: /AUTHORIZATION_SERVER/ });
  t.throws(() => loadClientAppConfig({ ...prod, RESOURCE_SERVER: 'http://api.example.com' }), { message: /RESOURCE_SERVER/ });
  t.throws(() => loadClientAppConfig({ ...prod, CLIENT_SECRET: 'demo-client-secret' }), ConfigError);
});
