import t from 'tap';
import { PNG_BYTES, buildTestApp, connect } from '../helper.js';

t.test('not connected: resource pages redirect to /', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = ctx.browser();
  for (const url of ['/photos', '/documents', '/documents/d1', '/photos/p1/image']) {
    const res = await browser.get(url);
    t.equal(res.statusCode, 303, url);
    t.equal(res.headers.location, '/', url);
  }
  t.equal(ctx.rs.authorizations.length, 0, 'the RS was never called');
});

t.test('/photos lists photos with <img> tags served by the image proxy', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  const res = await browser.get('/photos');
  t.equal(res.statusCode, 200);
  t.match(res.headers['cache-control'], /no-store/);
  t.match(res.body, 'Tea party &lt;at the hare&gt;', 'titles are shown, escaped');
  t.match(res.body, 'Cheshire cat');
  t.match(res.body, '<img src="/photos/p1/image"');
  t.match(res.body, '<img src="/photos/p2/image"');
  t.match(res.body, 'action="/logout"');

  const img = await browser.get('/photos/p1/image');
  t.equal(img.statusCode, 200);
  t.equal(img.headers['content-type'], 'image/png');
  t.same(img.rawPayload, PNG_BYTES, 'bytes proxied unchanged');
  t.match(img.headers['cache-control'], /no-store/);

  t.equal((await browser.get('/photos/missing/image')).statusCode, 404);
  t.equal((await browser.get('/photos/evil/image')).statusCode, 502, 'non-image content is not relayed');
  t.equal((await browser.get('/photos/..%2Fdocuments/image')).statusCode, 400, 'odd ids are refused');
});

t.test('/documents lists documents and /documents/:id shows one', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  const list = await browser.get('/documents');
  t.equal(list.statusCode, 200);
  t.match(list.body, 'href="/documents/d1"');
  t.match(list.body, 'Letter to the Queen');
  const one = await browser.get('/documents/d1');
  t.equal(one.statusCode, 200);
  t.match(one.body, '&lt;b&gt;off with&lt;/b&gt;', 'content is escaped');
  t.match(one.headers['cache-control'], /no-store/);
  const missing = await browser.get('/documents/d9');
  t.equal(missing.statusCode, 404);
  t.match(missing.headers['content-type'], /text\/html/);
});

t.test('RS says 401: tokens are dropped and the user is asked to connect again', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  ctx.rs.mode = 'revoked';
  const res = await browser.get('/photos');
  t.equal(res.statusCode, 200);
  t.match(res.body, /Please connect again/);
  t.match(res.body, 'href="/connect"');
  ctx.rs.mode = 'ok';
  const after = await browser.get('/photos');
  t.equal(after.statusCode, 303, 'tokens were cleared: not connected any more');
  t.equal(after.headers.location, '/');
});

t.test('RS says 401 to the image proxy: bare 401 and tokens dropped', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  ctx.rs.mode = 'revoked';
  t.equal((await browser.get('/photos/p1/image')).statusCode, 401);
  ctx.rs.mode = 'ok';
  t.equal((await browser.get('/photos')).statusCode, 303);
});

t.test('RS says 403 insufficient_scope: the page names the missing scope', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  ctx.rs.mode = 'no-scope';
  const res = await browser.get('/photos');
  t.equal(res.statusCode, 403);
  t.match(res.body, 'photos:read');
  ctx.rs.mode = 'ok';
  t.equal((await browser.get('/photos')).statusCode, 200, 'the connection is kept');
});

t.test('RS failing or down: 503 page with Retry-After, the connection is kept', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  ctx.rs.mode = 'down';
  const failing = await browser.get('/documents');
  t.equal(failing.statusCode, 503);
  t.equal(failing.headers['retry-after'], '5');
  ctx.rs.mode = 'ok';
  await ctx.rs.close();
  const down = await browser.get('/photos');
  t.equal(down.statusCode, 503);
  t.match(down.body, /resource server is not answering/);
  t.equal((await browser.get('/photos/p1/image')).statusCode, 503);
});
