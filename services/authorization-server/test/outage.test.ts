// Storage outages: with PostgreSQL or Redis cut off (a TcpProxy stopped between the app and the store),
// requests get 503 + Retry-After (temporarily_unavailable on the /authorize redirect, a 503 page on HTML
// pages), never a 500 or a credential error; when the store comes back, the app recovers without restart.
// Only a server can go away: each test needs the real one it cuts off and is skipped in embedded mode
// (PGlite and the in-process store live in the app's own process).
import t, { type Test } from 'tap';
import { TcpProxy, needsRealDatabase, needsRealRedis } from '@quartet/testing';
import type { App } from '../src/app.js';
import { createEnvironment } from './helper.js';
import { Browser, DEMO_REDIRECT, authorizeUrl, location, obtainCode, tokenRequest } from './browser.js';

async function waitUntilReady(app: App, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await app.inject({ url: '/readyz' })).statusCode === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('app did not become ready again');
}

/** An app whose PostgreSQL or Redis connection goes through a proxy the test can stop. */
async function setup(t: Test, store: 'postgresql' | 'redis') {
  const env = await createEnvironment(t);
  const name = store === 'postgresql' ? 'DATABASE_URL' : 'REDIS_URL';
  const target = env.backendEnv[name];
  if (!target) throw new Error(`${name} is not set: this test needs the real server`);
  const url = new URL(target);
  const proxy = new TcpProxy(url.hostname, Number(url.port || (store === 'postgresql' ? 5432 : 6379)));
  await proxy.start();
  t.teardown(() => proxy.stop());
  const app = await env.build({ [name]: proxy.rewrite(target) });
  return { env, app, proxy };
}

function expect503Json(t: Test, res: Awaited<ReturnType<App['inject']>>) {
  t.equal(res.statusCode, 503);
  t.ok(res.headers['retry-after'], 'Retry-After');
  t.equal(res.json().error, 'temporarily_unavailable');
  t.notMatch(res.body, /at .*\.ts|stack/i, 'no stack trace');
}

function expect503Page(t: Test, res: Awaited<ReturnType<App['inject']>>) {
  t.equal(res.statusCode, 503);
  t.ok(res.headers['retry-after'], 'Retry-After');
  t.match(res.headers['content-type'], /text\/html/);
  t.match(res.body, /Temporarily unavailable/);
  t.notOk(res.headers.location);
}

t.test('PostgreSQL outage', { skip: needsRealDatabase }, async (t) => {
  const { env, app, proxy: pgProxy } = await setup(t, 'postgresql');
  const browser = new Browser(app);
  const loginUrl = location(await browser.get(authorizeUrl())).pathname;
  t.equal(loginUrl, '/interaction/login');
  const { code, verifier } = await obtainCode(app);

  await pgProxy.stop();
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.ok(ready.headers['retry-after']);
  t.match(ready.json(), { checks: { postgresql: 'unavailable', redis: 'ok' } });

  // Token endpoint: client lookup fails -> 503, not invalid_client; the code is not spent.
  const form = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT };
  const basic: [string, string] = ['demo-client', env.config.DEMO_CLIENT_SECRET];
  expect503Json(t, await tokenRequest(app, form, { basic }));
  expect503Json(t, await tokenRequest(app, form, { basic: ['demo-client', 'wrong'] }));
  // /authorize cannot verify the client: a 503 page, no redirect.
  expect503Page(t, await app.inject({ url: authorizeUrl() }));

  await pgProxy.start();
  await waitUntilReady(app);
  t.equal((await app.inject({ url: authorizeUrl() })).statusCode, 303, '/authorize works again');
  const ok = await tokenRequest(app, form, { basic });
  t.equal(ok.statusCode, 200, 'the code survived the outage');
});

t.test('Redis outage', { skip: needsRealRedis }, async (t) => {
  const { env, app, proxy: redisProxy } = await setup(t, 'redis');
  const browser = new Browser(app);
  const loginLocation = location(await browser.get(authorizeUrl()));
  const { code, verifier } = await obtainCode(app);

  await redisProxy.stop();
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.match(ready.json(), { checks: { postgresql: 'ok', redis: 'unavailable' } });

  // /authorize: the client is verified, so the outage goes back as temporarily_unavailable.
  const res = await app.inject({ url: authorizeUrl({ state: 'down' }) });
  t.equal(res.statusCode, 303);
  t.ok(res.headers['retry-after']);
  const loc = location(res);
  t.equal(`${loc.origin}${loc.pathname}`, DEMO_REDIRECT);
  t.equal(loc.searchParams.get('error'), 'temporarily_unavailable');
  t.equal(loc.searchParams.get('state'), 'down');
  t.equal(loc.searchParams.get('iss'), env.config.ISSUER);

  // Interaction pages: a 503 page.
  expect503Page(t, await browser.get(loginLocation.pathname + loginLocation.search));

  // Token endpoint: 503, never invalid_grant.
  const form = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT };
  const basic: [string, string] = ['demo-client', env.config.DEMO_CLIENT_SECRET];
  expect503Json(t, await tokenRequest(app, form, { basic }));

  await redisProxy.start();
  await waitUntilReady(app);
  t.equal(location(await app.inject({ url: authorizeUrl() })).pathname, '/interaction/login', '/authorize works again');
  t.equal((await tokenRequest(app, form, { basic })).statusCode, 200, 'the code survived the outage');
});
