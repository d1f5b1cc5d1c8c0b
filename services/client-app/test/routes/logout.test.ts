import t from 'tap';
import { buildTestApp, connect } from '../helper.js';

function csrfFrom(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no CSRF token in the page');
  return m[1]!;
}

t.test('logout destroys the session; /photos then redirects to /', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  const page = await browser.get('/photos');
  const csrf = csrfFrom(page.body);
  const sessionId = browser.cookies.get('quartet_client_session')!;

  const res = await browser.post('/logout', { _csrf: csrf });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/');
  t.notOk(browser.cookies.has('quartet_client_session'), 'cookie cleared');

  const after = await browser.get('/photos');
  t.equal(after.statusCode, 303);
  t.equal(after.headers.location, '/');

  // The old session id is dead on the server too, not just forgotten by the browser.
  const replay = await ctx.app.inject({ method: 'GET', url: '/photos', headers: { cookie: `quartet_client_session=${sessionId}` } });
  t.equal(replay.statusCode, 303);
});

t.test('logout without the CSRF token is refused and the session survives', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  const forged = await browser.post('/logout', { _csrf: 'forged' });
  t.equal(forged.statusCode, 403);
  const missing = await browser.post('/logout', {});
  t.equal(missing.statusCode, 400);
  t.equal((await browser.get('/photos')).statusCode, 200, 'still connected');
});

t.test('logout without a session just goes home', async (t) => {
  const ctx = await buildTestApp(t);
  const res = await ctx.browser().post('/logout', { _csrf: 'x' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/');
});
