import { Type } from '@sinclair/typebox';
import t from 'tap';
import { applyProfile, loadConfig, refuseDevelopmentSettings, weakSecret } from '../src/index.js';

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

t.test('development settings are refused only for https, naming each variable', async (t) => {
  const rules = {
    secrets: { DEMO_CLIENT_SECRET: { value: 'demo-client-secret', devDefault: 'demo-client-secret' } },
    switches: { WORKSHOP_MODE: true, SEED_DEMO_DATA: false },
    httpsUrls: { RESOURCES: ['https://api.example', 'http://other.example'] },
  };
  t.doesNotThrow(() => refuseDevelopmentSettings('ISSUER', 'http://localhost:9000', rules));
  t.throws(() => refuseDevelopmentSettings('ISSUER', 'https://auth.example', rules), {
    name: 'ConfigError',
    message:
      'Invalid configuration: DEMO_CLIENT_SECRET is the development default; WORKSHOP_MODE must be false; ' +
      'RESOURCES must be https (got http://other.example) — refused because ISSUER is https ' +
      '(https://auth.example), which means production.',
  });
  t.doesNotThrow(() =>
    refuseDevelopmentSettings('ISSUER', 'https://auth.example', {
      secrets: { DEMO_CLIENT_SECRET: { value: 'x'.repeat(32) } },
      switches: { SEED_DEMO_DATA: false },
    }),
  );
});

t.test('weak secrets: development default, placeholder, shorter than 32 characters', async (t) => {
  t.equal(weakSecret('demo-client-secret', 'demo-client-secret'), 'is the development default');
  for (const placeholder of [
    'CHANGE_ME',
    'change-me-please-0123456789abcdefghij',
    'changeit',
    'REPLACE_ME',
    '<your secret here, 32 characters>',
  ]) {
    t.equal(weakSecret(placeholder), 'is a placeholder', placeholder);
  }
  t.equal(weakSecret('a'.repeat(31)), 'is shorter than 32 characters');
  t.equal(weakSecret('Zk3v9Qm2Lr8Tx4Wc7Yp1Hn6Bd5Fg0Js2'), null);
});

t.test('applyProfile: a profile fixes settings; a different value set by the operator stops the start', async (t) => {
  const fixed = { DPOP_REQUIRED: 'true' };
  t.same(applyProfile({ PORT: '1' }, 'fapi2', fixed), { PORT: '1', DPOP_REQUIRED: 'true' });
  t.same(applyProfile({ DPOP_REQUIRED: 'true' }, 'fapi2', fixed), { DPOP_REQUIRED: 'true' });
  t.same(applyProfile({ DPOP_REQUIRED: 'false' }, 'default', fixed), { DPOP_REQUIRED: 'false' }, 'default: nothing');
  t.same(applyProfile({}, undefined, fixed), {}, 'unset: nothing');
  t.throws(() => applyProfile({ DPOP_REQUIRED: 'false' }, 'fapi2', fixed), {
    name: 'ConfigError',
    message:
      'Invalid configuration: PROFILE=fapi2 requires DPOP_REQUIRED=true (got "false"); leave DPOP_REQUIRED unset',
  });
});
