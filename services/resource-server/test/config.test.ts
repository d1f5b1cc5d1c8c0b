// Config: contract defaults, and a bad value stops start with a message naming the variable.
import t from 'tap';
import { ConfigError } from '@quartet/common';
import { loadConfig } from '../src/config.js';

t.test('defaults match the contract', async (t) => {
  t.same(loadConfig({}), {
    port: 9100,
    host: '127.0.0.1',
    resourceId: 'http://localhost:9100',
    authorizationServer: 'http://localhost:9000',
    databaseUrl: 'postgresql://postgres@127.0.0.1:5432/quartet_resource',
    clockTolerance: 5,
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
