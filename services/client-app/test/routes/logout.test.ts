import t from 'tap';
import { buildTestApp, connect, csrfOf, decodeBasic } from '../helper.js';

t.test('logout destroys the session; /photos then redirects to /', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  const page = await browser.get('/photos');
  const csrf = csrfOf(page);
  const sessionId = browser.cookie('quartet_client_session')!;

  const res = await browser.post('/logout', { _csrf: csrf });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/signed-out');
  t.equal(browser.cookie('quartet_client_session'), undefined, 'cookie cleared');

  const after = await browser.get('/photos');
  t.equal(after.statusCode, 303);
  t.equal(after.headers.location, '/');

  // The old session id is dead on the server too, not just forgotten by the browser.
  const replay = await ctx.app.inject({
    method: 'GET',
    url: '/photos',
    headers: { cookie: `quartet_client_session=${sessionId}` },
  });
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

t.test(
  'logout revokes the refresh token at the AS (RFC 7009) with client authentication, then ends the session',
  async (t) => {
    const ctx = await buildTestApp(t, {}, { captureLogs: true });
    const browser = await connect(ctx);
    const [refreshToken] = ctx.as.issuedRefreshTokens;
    const csrf = csrfOf(await browser.get('/photos'));

    const res = await browser.post('/logout', { _csrf: csrf });
    t.equal(res.statusCode, 303);
    t.equal(res.headers.location, '/signed-out');
    t.equal(browser.cookie('quartet_client_session'), undefined, 'cookie cleared');
    t.equal(ctx.as.revokeCalls.length, 1, 'one revocation request');
    const call = ctx.as.revokeCalls[0]!;
    t.same(
      decodeBasic(call.authorization),
      ['demo-client', 'demo-client-secret'],
      'client_secret_basic (RFC 7009 §2.1)',
    );
    t.match(call.contentType, /application\/x-www-form-urlencoded/);
    t.equal(call.params.get('token'), refreshToken, 'the refresh token of this session');
    t.equal(call.params.get('token_type_hint'), 'refresh_token');
    t.notOk(call.params.has('client_secret'), 'the secret travels only in the Authorization header');
    t.notOk(ctx.as.validRefreshTokens.has(refreshToken!), 'the AS no longer accepts it');
    t.equal((await browser.get('/photos')).statusCode, 303);
    t.match(ctx.logs.join('\n'), /refresh token revoked/);
    t.notMatch(ctx.logs.join('\n'), refreshToken!, 'no token in the log');
  },
);

t.test('logout after a rotation revokes the CURRENT refresh token', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.as.expiresIn = 5;
  const browser = await connect(ctx);
  const csrf = csrfOf(await browser.get('/photos'));
  t.equal(ctx.as.issuedRefreshTokens.length, 2, 'refreshed once');
  t.equal((await browser.post('/logout', { _csrf: csrf })).statusCode, 303);
  t.equal(ctx.as.revokeCalls[0]?.params.get('token'), ctx.as.issuedRefreshTokens[1]);
  t.equal(ctx.as.validRefreshTokens.size, 0, 'no refresh token of the grant is left alive');
});

t.test('logout with the AS down still logs out; the failure is logged without the token', async (t) => {
  const ctx = await buildTestApp(t, {}, { captureLogs: true });
  const browser = await connect(ctx);
  const [refreshToken] = ctx.as.issuedRefreshTokens;
  const csrf = csrfOf(await browser.get('/photos'));
  await ctx.as.close();

  const res = await browser.post('/logout', { _csrf: csrf });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/signed-out');
  t.equal(browser.cookie('quartet_client_session'), undefined, 'cookie cleared');
  t.equal((await browser.get('/photos')).statusCode, 303, 'logged out locally');
  const logs = ctx.logs.join('\n');
  t.match(logs, /"level":40[^\n]*revocation failed; logged out locally anyway/, 'logged at warn');
  t.notMatch(logs, refreshToken!, 'no token in the log');
  for (const token of ctx.as.issuedTokens) t.notMatch(logs, token);
});

t.test('logout when the AS refuses the revocation or has no revocation endpoint still logs out', async (t) => {
  const refusing = await buildTestApp(t, {}, { captureLogs: true });
  refusing.as.revokeResponse = { status: 400, body: { error: 'unsupported_token_type' } };
  const a = await connect(refusing);
  const csrfA = csrfOf(await a.get('/photos'));
  t.equal((await a.post('/logout', { _csrf: csrfA })).statusCode, 303);
  t.equal(refusing.as.revokeCalls.length, 1);
  t.equal((await a.get('/photos')).statusCode, 303);
  t.match(refusing.logs.join('\n'), /"oauthError":"unsupported_token_type"/);

  const failing = await buildTestApp(t);
  failing.as.revokeResponse = { status: 503, body: { error: 'temporarily_unavailable' } };
  const b = await connect(failing);
  const csrfB = csrfOf(await b.get('/photos'));
  t.equal((await b.post('/logout', { _csrf: csrfB })).statusCode, 303);
  t.equal((await b.get('/photos')).statusCode, 303);

  const withoutEndpoint = await buildTestApp(t);
  withoutEndpoint.as.advertiseRevocation = false;
  const c = await connect(withoutEndpoint);
  const csrfC = csrfOf(await c.get('/photos'));
  t.equal((await c.post('/logout', { _csrf: csrfC })).statusCode, 303);
  t.equal(withoutEndpoint.as.revokeCalls.length, 0, 'nothing to call');
  t.equal((await c.get('/photos')).statusCode, 303);
});

t.test('logout without a refresh token sends no revocation', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.as.issueRefreshTokens = false;
  const browser = await connect(ctx);
  const csrf = csrfOf(await browser.get('/photos'));
  t.equal((await browser.post('/logout', { _csrf: csrf })).statusCode, 303);
  t.equal(ctx.as.revokeCalls.length, 0);
});

t.test('logout during a refresh in another tab: the rotated token is revoked and the session stays gone', async (t) => {
  const ctx = await buildTestApp(t);
  // Every stored token is expiring, so each page load refreshes first thing; the refresh answer is slow.
  ctx.as.expiresIn = 5;
  const browser = await connect(ctx);
  const csrf = csrfOf(await browser.get('/photos'));
  ctx.as.tokenDelayMs = 150;
  const [page, logout] = await Promise.all([browser.get('/photos'), browser.post('/logout', { _csrf: csrf })]);
  t.equal(logout.statusCode, 303);
  t.ok(page.statusCode === 200 || page.statusCode === 303, `the page load ends cleanly (${page.statusCode})`);
  t.equal(ctx.as.validRefreshTokens.size, 0, 'whichever ran first, no refresh token of the grant is left alive');
  t.equal((await browser.get('/photos')).statusCode, 303, 'the refresh did not bring the session back');
});

t.test(
  'the signed-out page offers to sign out at the authorization server too (its end_session_endpoint)',
  async (t) => {
    const ctx = await buildTestApp(t);
    const browser = await connect(ctx);
    const csrf = csrfOf(await browser.get('/photos'));
    const res = await browser.post('/logout', { _csrf: csrf });
    t.equal(res.headers.location, '/signed-out');
    const page = await browser.get('/signed-out');
    t.equal(page.statusCode, 200);
    t.match(page.body, /You are signed out of this app/);
    t.match(page.body, /You may still be signed in at the authorization server/);
    t.match(
      page.body,
      `href="${ctx.as.issuer}/interaction/logout?client_id=demo-client"`,
      'a link to the AS sign-out page, naming this client',
    );
    t.match(page.body, /Sign out at the authorization server too/);
  },
);

t.test('without an end_session_endpoint (or with the AS down) the page just says signed out', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.as.advertiseEndSession = false;
  const page = await ctx.browser().get('/signed-out');
  t.equal(page.statusCode, 200);
  t.notMatch(page.body, /interaction\/logout/);
  const down = await buildTestApp(t);
  await down.as.close();
  const downPage = await down.browser().get('/signed-out');
  t.equal(downPage.statusCode, 200, 'never blocked by the AS');
  t.notMatch(downPage.body, /interaction\/logout/);
});
