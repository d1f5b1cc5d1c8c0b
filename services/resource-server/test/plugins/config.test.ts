// app.config: the settings buildApp was given, the one way they reach plugins and routes — a setting changed
// there is what the API then does (here RESOURCE_ID, named by the protected resource metadata).
import t from 'tap';
import Fastify from 'fastify';
import fp from 'fastify-plugin';
import configPlugin from '../../src/plugins/config.js';
import { setup, testConfig } from '../helper.js';

t.test('buildApp decorates app.config with the config it was given', async (t) => {
  const { app, config } = await setup(t, { config: { RESOURCE_ID: 'http://localhost:9100/other/' } });
  t.equal(app.config, config);
  const res = await app.inject('/.well-known/oauth-protected-resource/other');
  t.equal(res.json().resource, 'http://localhost:9100/other/');
});

t.test('a plugin that reads app.config cannot start without the config plugin', async (t) => {
  const reader = fp(async () => {}, { name: 'reader', dependencies: ['config'] });
  const bare = Fastify();
  t.teardown(() => bare.close());
  await t.rejects(async () => {
    await bare.register(reader).ready();
  }, /config/);
  const configured = Fastify();
  t.teardown(() => configured.close());
  await configured.register(configPlugin, { config: testConfig() }).register(reader).ready();
  t.equal(configured.config.PORT, 0);
});
