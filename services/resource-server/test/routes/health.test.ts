// /livez, /readyz, and PostgreSQL outages: 503 + Retry-After (never a 500 or a credential error), recovery
// without restart once the database is back. The outage is real: a TcpProxy between the app and PostgreSQL.
// Only a PostgreSQL server can become unreachable (the embedded one lives inside the process), so the outage
// test runs against TEST_DATABASE_URL and is skipped in embedded mode; the probes run in both.
import t from 'tap';
import { TcpProxy, adminDatabaseUrl, needsRealDatabase, realDatabase } from '@quartet/testing';
import { renderPng } from '../../src/lib/demo-images.js';
import { bearer, createDocument, setup } from '../helper.js';

const server = new URL(adminDatabaseUrl());
const proxy = realDatabase ? new TcpProxy(server.hostname, Number(server.port || 5432)) : null;
if (proxy) {
  await proxy.start();
  t.teardown(() => proxy.stop());
}
const { app, as } = await setup(t, proxy ? { databaseUrl: (url) => proxy.rewrite(url) } : {});
const headers = bearer(await as.token());

t.test('/livez and /readyz while everything is up', async (t) => {
  const live = await app.inject({ method: 'GET', url: '/livez' });
  t.equal(live.statusCode, 200);
  t.same(live.json(), { status: 'ok' });
  const ready = await app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ok' });
  t.equal(ready.headers['cache-control'], 'no-store');
});

t.test('unknown routes get the JSON 404', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/nope?access_token=x' });
  t.equal(res.statusCode, 404);
  t.same(res.json(), { error: 'not_found', error_description: 'No route for GET /nope' });
});

t.test(
  'PostgreSQL down: 503 + Retry-After on every API call and /readyz; back up: recovers',
  { skip: needsRealDatabase },
  async (t) => {
    if (!proxy) throw new Error('the outage test needs the TcpProxy of a real PostgreSQL');
    const { id } = await createDocument(t, app, headers, { title: 'before', content: 'x' });

    await proxy.stop();
    const calls = [
      { method: 'GET', url: '/photos' },
      { method: 'GET', url: `/photos/${id}` },
      { method: 'GET', url: `/photos/${id}/image` },
      { method: 'DELETE', url: `/photos/${id}` },
      { method: 'GET', url: '/documents' },
      { method: 'GET', url: `/documents/${id}` },
      { method: 'POST', url: '/documents', payload: { title: 't', content: 'c' } },
      { method: 'DELETE', url: `/documents/${id}` },
      // The quota transaction of an upload fails like any query; its upload slot is given back.
      {
        method: 'POST',
        url: '/photos',
        payload: { title: 't', contentType: 'image/png', data: renderPng('sunset').toString('base64') },
      },
    ] as const;
    for (const call of calls) {
      const res = await app.inject({ ...call, headers });
      t.equal(res.statusCode, 503, `${call.method} ${call.url}`);
      t.equal(res.headers['retry-after'], '5');
      t.same(res.json(), {
        error: 'temporarily_unavailable',
        error_description: 'A storage service is unavailable; try again shortly.',
      });
      t.equal(res.headers['cache-control'], 'no-store');
    }
    t.equal(app.uploadSlots.inUse, 0, 'the failed upload released its slot');
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    t.equal(ready.statusCode, 503);
    t.equal(ready.headers['retry-after'], '5');
    t.equal((await app.inject({ method: 'GET', url: '/livez' })).statusCode, 200, 'still alive');

    await proxy.start();
    t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'ready again');
    const doc = await app.inject({ method: 'GET', url: `/documents/${id}`, headers });
    t.equal(doc.statusCode, 200, 'recovered without restart');
    t.equal(doc.json().title, 'before');
  },
);
