import t from 'tap';
import { TcpProxy, createRedisPrefix, testRedisUrl } from '@quartet/testing';
import { buildApp } from '../../src/app.js';
import { loadClientAppConfig } from '../../src/config.js';
import { buildTestApp, callbackUrl, startFakeAuthorizationServer, startFakeResourceServer, startFlow, connect, Browser } from '../helper.js';

t.test('livez and readyz', async (t) => {
  const ctx = await buildTestApp(t);
  const live = await ctx.app.inject('/livez');
  t.equal(live.statusCode, 200);
  t.same(live.json(), { status: 'ok' });
  const ready = await ctx.app.inject('/readyz');
  t.equal(ready.statusCode, 200);
});

t.test('Redis outage: 503 pages with Retry-After, never a crash, recovery without restart', async (t) => {
  const redisUrl = new URL(testRedisUrl());
  const proxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
  await proxy.start();
  const as = await startFakeAuthorizationServer();
  const rs = await startFakeResourceServer(as);
  const redis = createRedisPrefix('client-app-outage');
  const config = loadClientAppConfig({
    AUTHORIZATION_SERVER: as.url,
    RESOURCE_SERVER: rs.url,
    REDIS_URL: proxy.rewrite(testRedisUrl()),
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
  const ctx = { app, config, as, rs, browser: () => new Browser(app) };

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
});
