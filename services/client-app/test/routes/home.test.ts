import t from 'tap';
import { buildTestApp, connect } from '../helper.js';

t.test('home explains the four roles and offers to connect', async (t) => {
  const ctx = await buildTestApp(t);
  const res = await ctx.browser().get('/');
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /text\/html/);
  for (const role of ['resource owner', 'client', 'authorization server', 'resource server'])
    t.match(res.body.toLowerCase(), role);
  t.match(res.body, 'href="/connect"');
  t.match(res.body, 'Connect my photos');
  t.match(res.headers['content-security-policy'], /default-src 'self'/);
  t.equal(res.headers['x-content-type-options'], 'nosniff');
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  t.notOk(res.headers['set-cookie'], 'visiting the home page creates no session');
});

t.test('home shows the connected state', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  const res = await browser.get('/');
  t.match(res.body, 'You are connected');
  t.match(res.body, 'href="/photos"');
});

t.test('the stylesheet is served locally; unknown pages get a 404 page', async (t) => {
  const ctx = await buildTestApp(t);
  const css = await ctx.browser().get('/static/style.css');
  t.equal(css.statusCode, 200);
  t.match(css.headers['content-type'], /text\/css/);
  const missing = await ctx.browser().get('/nope');
  t.equal(missing.statusCode, 404);
  t.match(missing.body, 'Page not found');
});

t.test('production (https PUBLIC_URL): HSTS, upgrade-insecure-requests', async (t) => {
  const ctx = await buildTestApp(t);
  const { buildApp } = await import('../../src/app.js');
  const prod = await buildApp(
    {
      ...ctx.config,
      PUBLIC_URL: 'https://photos.example.com',
      AUTHORIZATION_SERVER: 'https://auth.example.com',
      RESOURCE_SERVER: 'https://api.example.com',
      CLIENT_SECRET: 'not-the-demo-secret',
    },
    { logger: false },
  );
  t.teardown(() => prod.close());
  const res = await prod.inject('/');
  t.equal(res.statusCode, 200);
  t.match(res.headers['strict-transport-security'], /max-age=/);
  t.match(res.headers['content-security-policy'], /upgrade-insecure-requests/);
  const dev = await ctx.app.inject('/');
  t.notOk(dev.headers['strict-transport-security'], 'no HSTS over http');
});
