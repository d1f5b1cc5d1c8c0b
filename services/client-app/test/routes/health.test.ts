import t from 'tap';
import { TcpProxy, createRedisPrefix, needsRealRedis, testRedisUrl } from '@quartet/testing';
import { buildApp } from '../../src/app.js';
import { readConfig } from '../../src/config.js';
import { unusedPort } from '../fixtures/http.js';
import {
  buildTestApp,
  callbackUrl,
  startFakeAuthorizationServer,
  startFakeResourceServer,
  startFlow,
  connect,
  Browser,
} from '../helper.js';

t.test('livez and readyz', async (t) => {
  const ctx = await buildTestApp(t);
  const live = await ctx.app.inject('/livez');
  t.equal(live.statusCode, 200);
  t.same(live.json(), { status: 'ok' });
  const ready = await ctx.app.inject('/readyz');
  t.equal(ready.statusCode, 200);
});

// An outage needs a server to lose: the in-process store cannot become unreachable, so this runs only
// against a real Redis (TEST_REDIS_URL), with a TCP proxy between the app and Redis that the test cuts.
t.test(
  'Redis outage: 503 pages with Retry-After, never a crash, recovery without restart',
  { skip: needsRealRedis },
  async (t) => {
    const realRedisUrl = testRedisUrl();
    if (!realRedisUrl) throw new Error('unreachable: skipped without TEST_REDIS_URL');
    const redisUrl = new URL(realRedisUrl);
    const proxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
    await proxy.start();
    const as = await startFakeAuthorizationServer();
    const rs = await startFakeResourceServer(as);
    const redis = createRedisPrefix('client-app-outage');
    const config = readConfig({
      AUTHORIZATION_SERVER: as.url,
      RESOURCE_SERVER: rs.url,
      REDIS_URL: proxy.rewrite(realRedisUrl),
      REDIS_PREFIX: redis.prefix,
    });
    const app = await buildApp(config, { logger: false });
    t.teardown(async () => {
      await app.close();
      await proxy.stop();
      await as.close();
      await rs.close();
      await redis.cleanup();
    });
    const ctx = { app, config, as, rs, logs: [], browser: () => new Browser(app) };

    const browser = await connect(ctx);
    t.equal((await browser.get('/photos')).statusCode, 200, 'works before the outage');
    const pending = ctx.browser();
    const { state } = await startFlow(pending);

    await proxy.stop();
    for (const url of ['/photos', '/documents', '/connect', '/photos/p1/image']) {
      const res = await browser.get(url);
      t.equal(res.statusCode, 503, `${url} answers 503`);
      t.equal(res.headers['retry-after'], '5', `${url} has Retry-After`);
    }
    const page = await browser.get('/photos');
    t.match(page.body, /Temporarily unavailable/);
    t.match(page.headers['content-type'], /text\/html/);
    const callback = await pending.get(callbackUrl({ code: 'c', state, iss: as.issuer }));
    t.equal(callback.statusCode, 503, 'callback during the outage: 503, not a state error');
    t.equal(as.tokenCalls.length, 1, 'no token request during the outage');
    const home = await browser.get('/');
    t.equal(home.statusCode, 200, 'the home page still explains OAuth');
    const ready = await app.inject('/readyz');
    t.equal(ready.statusCode, 503);
    t.equal(ready.headers['retry-after'], '5');

    await proxy.start();
    let recovered = false;
    for (let i = 0; i < 50 && !recovered; i++) {
      recovered = (await app.inject('/readyz')).statusCode === 200;
      if (!recovered) await new Promise((r) => setTimeout(r, 100));
    }
    t.ok(recovered, 'ready again once Redis is back');
    t.equal((await browser.get('/photos')).statusCode, 200, 'the session survived the outage');
    const resumed = await pending.get(callbackUrl({ code: 'c', state, iss: as.issuer }));
    t.equal(resumed.statusCode, 303, 'a flow started before the outage can finish after it');
  },
);

// Runs in both modes: a REDIS_URL where nothing listens is a real Redis client facing a real refused
// connection, so the outage answers (503 + Retry-After, never a crash) are checked even without a Redis server.
t.test('REDIS_URL set but Redis unreachable: 503 pages and readyz 503, the home page still works', async (t) => {
  const as = await startFakeAuthorizationServer();
  const rs = await startFakeResourceServer(as);
  const port = await unusedPort();
  const config = readConfig({
    AUTHORIZATION_SERVER: as.url,
    RESOURCE_SERVER: rs.url,
    REDIS_URL: `redis://127.0.0.1:${port}`,
  });
  const app = await buildApp(config, { logger: false });
  t.teardown(async () => {
    await app.close();
    await as.close();
    await rs.close();
  });
  t.match(app.kv.description, /^Redis at 127\.0\.0\.1:/, 'REDIS_URL set: the Redis store, no other change');
  const browser = new Browser(app);
  // A well-formed session cookie, so the pages have to ask the store about it.
  browser.setCookie('quartet_client_session', 'a'.repeat(43));
  for (const url of ['/connect', '/photos', '/documents', '/photos/p1/image', '/callback?code=c&state=s']) {
    const res = await browser.get(url);
    t.equal(res.statusCode, 503, `${url} answers 503`);
    t.equal(res.headers['retry-after'], '5', `${url} has Retry-After`);
    if (!url.includes('/image')) t.match(res.body, /Temporarily unavailable/);
  }
  t.equal(as.tokenCalls.length, 0, 'no token request without the session store');
  t.equal((await browser.get('/')).statusCode, 200, 'the home page still explains OAuth');
  const ready = await app.inject('/readyz');
  t.equal(ready.statusCode, 503);
  t.equal(ready.headers['retry-after'], '5');
});
