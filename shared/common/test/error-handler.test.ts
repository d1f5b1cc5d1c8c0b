import Fastify from 'fastify';
import t from 'tap';
import { OAuthError, StorageUnavailableError, jsonErrors } from '../src/index.js';

t.test('jsonErrors: RFC 6749 bodies, 503 for outages, no internals leaked', async (t) => {
  const app = Fastify({ logger: false });
  await app.register(jsonErrors);
  app.get('/oauth', async () => {
    throw new OAuthError('invalid_client', 'Client authentication failed.', {
      headers: { 'www-authenticate': 'Basic realm="x"' },
    });
  });
  app.get('/down', async () => {
    throw new StorageUnavailableError('redis');
  });
  app.get('/bug', async () => {
    throw new Error('secret internal detail at /srv/app.ts:12');
  });
  app.post(
    '/validated',
    { schema: { body: { type: 'object', required: ['a'], properties: { a: { type: 'string' } } } } },
    async () => ({ ok: true }),
  );
  t.teardown(() => app.close());

  const oauth = await app.inject('/oauth');
  t.equal(oauth.statusCode, 401);
  t.equal(oauth.headers['cache-control'], 'no-store');
  t.equal(oauth.headers['www-authenticate'], 'Basic realm="x"');
  t.same(oauth.json(), { error: 'invalid_client', error_description: 'Client authentication failed.' });

  const down = await app.inject('/down');
  t.equal(down.statusCode, 503);
  t.equal(down.headers['retry-after'], '5');
  t.equal(down.json().error, 'temporarily_unavailable');

  const bug = await app.inject('/bug');
  t.equal(bug.statusCode, 500);
  t.notMatch(bug.body, /secret internal detail/);
  t.equal(bug.json().error, 'server_error');

  const bad = await app.inject({ method: 'POST', url: '/validated', payload: {} });
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().error, 'invalid_request');

  const missing = await app.inject('/nope?code=abc');
  t.equal(missing.statusCode, 404);
  t.notMatch(missing.body, /code=abc/);
});

t.test('a client that aborts its body is a 400 client error, not a storage outage logged at error level', async (t) => {
  const lines: string[] = [];
  const app = Fastify({ logger: { level: 'info', stream: { write: (l: string) => void lines.push(l) } } });
  await app.register(jsonErrors);
  app.get('/aborted', async () => {
    // What Fastify's body reader throws when the client goes away mid-body.
    throw Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
  });
  t.teardown(() => app.close());
  const res = await app.inject('/aborted');
  t.equal(res.statusCode, 400);
  t.equal(res.json().error, 'invalid_request');
  t.notOk(
    lines.some((l) => JSON.parse(l).level >= 50),
    'nothing logged at error level',
  );
});
