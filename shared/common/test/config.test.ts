import { Type } from '@sinclair/typebox';
import t from 'tap';
import { ConfigError, loadConfig, refuseDevelopmentDefaults } from '../src/index.js';

const schema = Type.Object({
  PORT: Type.Integer({ default: 9000, minimum: 1, maximum: 65535 }),
  ISSUER: Type.String({ format: 'uri', default: 'http://localhost:9000' }),
});

t.test('loadConfig applies defaults and coerces numbers', async (t) => {
  t.same(loadConfig(schema, {}), { PORT: 9000, ISSUER: 'http://localhost:9000' });
  t.equal(loadConfig(schema, { PORT: '9001' }).PORT, 9001);
});

t.test('a bad value stops start with a message naming the variable', async (t) => {
  t.throws(() => loadConfig(schema, { PORT: 'abc' }), { name: 'ConfigError', message: /PORT/ });
  t.throws(() => loadConfig(schema, { PORT: '70000' }), /PORT/);
});

t.test('development defaults are refused only for https', async (t) => {
  const values = { DEMO_CLIENT_SECRET: { value: 'demo-client-secret', devDefault: 'demo-client-secret' } };
  t.doesNotThrow(() => refuseDevelopmentDefaults('http://localhost:9000', values));
  t.throws(() => refuseDevelopmentDefaults('https://auth.example', values), ConfigError);
  t.throws(() => refuseDevelopmentDefaults('https://auth.example', values), /DEMO_CLIENT_SECRET/);
  t.doesNotThrow(() => refuseDevelopmentDefaults('https://auth.example', { DEMO_CLIENT_SECRET: { value: 'x'.repeat(32), devDefault: 'demo-client-secret' } }));
});
