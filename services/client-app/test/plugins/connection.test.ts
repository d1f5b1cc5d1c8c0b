// Refresh of the access token (RFC 6749 §6) with refresh token rotation (RFC 9700 §4.14.2), against the fake
// AS over real HTTP: before an expiring token is used, after a 401 invalid_token from the RS, serialised per
// session, and the "connect again" page when the refresh token is refused (invalid_grant) or missing.
import t from 'tap';
import { EXPIRY_MARGIN_SECONDS, isExpiring } from '../../src/plugins/connection.js';
import { PNG_BYTES, buildTestApp, connect, decodeBasic, type TokenCall } from '../helper.js';

const refreshCalls = (calls: TokenCall[]) => calls.filter((c) => c.params.get('grant_type') === 'refresh_token');

t.test('isExpiring: inside the margin counts as expired, no expiry never does', async (t) => {
  const now = 1_000_000;
  t.equal(EXPIRY_MARGIN_SECONDS, 10);
  const tokens = { accessToken: 'a', tokenType: 'bearer', scope: 's' };
  t.equal(isExpiring({ ...tokens, expiresAt: now + 11 }, now), false);
  t.equal(isExpiring({ ...tokens, expiresAt: now + 10 }, now), true);
  t.equal(isExpiring({ ...tokens, expiresAt: now - 1 }, now), true);
  t.equal(isExpiring({ ...tokens, expiresAt: null }, now), false);
});

t.test(
  'an expiring token is refreshed exactly once before the RS call, and the rotated refresh token is used next',
  async (t) => {
    const ctx = await buildTestApp(t, {}, { captureLogs: true });
    // 5 s of validity is inside the 10 s margin: every stored token counts as expiring at once.
    ctx.as.expiresIn = 5;
    const browser = await connect(ctx);
    t.equal(ctx.as.tokenCalls.length, 1, 'only the code exchange so far');
    const [rt1] = ctx.as.issuedRefreshTokens;

    const first = await browser.get('/photos');
    t.equal(first.statusCode, 200);
    t.match(first.body, 'Cheshire cat');
    t.equal(ctx.as.tokenCalls.length, 2, 'exactly one refresh');
    const call = ctx.as.tokenCalls[1]!;
    t.equal(call.params.get('grant_type'), 'refresh_token');
    t.equal(call.params.get('refresh_token'), rt1, 'the refresh token from the code exchange');
    t.same(decodeBasic(call.authorization), ['demo-client', 'demo-client-secret'], 'client_secret_basic');
    t.match(call.contentType, /application\/x-www-form-urlencoded/);
    t.notOk(call.params.has('client_secret'), 'the secret travels only in the Authorization header');
    const newest = () => [...ctx.as.issuedTokens].at(-1);
    t.equal(ctx.rs.authorizations.length, 1, 'the RS was called once, with the new token only');
    t.equal(ctx.rs.authorizations[0], `Bearer ${newest()}`);
    t.notMatch(first.body, rt1!, 'no refresh token in the page');

    // The next refresh must present the ROTATED token: the first one is spent.
    t.equal((await browser.get('/documents')).statusCode, 200);
    t.equal(refreshCalls(ctx.as.tokenCalls).length, 2);
    t.equal(
      ctx.as.tokenCalls[2]!.params.get('refresh_token'),
      ctx.as.issuedRefreshTokens[1],
      'the rotated refresh token was stored and used',
    );
    t.not(ctx.as.issuedRefreshTokens[1], rt1);

    // A long-lived token is not refreshed again.
    ctx.as.expiresIn = 300;
    t.equal((await browser.get('/photos')).statusCode, 200);
    t.equal(refreshCalls(ctx.as.tokenCalls).length, 3, 'the stored 5-second token was refreshed once more');
    t.equal((await browser.get('/photos')).statusCode, 200);
    t.equal((await browser.get('/photos/p1/image')).statusCode, 200);
    t.equal(refreshCalls(ctx.as.tokenCalls).length, 3, 'a token with 300 s left is used as it is');

    const logs = ctx.logs.join('\n');
    t.match(logs, /tokens refreshed/);
    for (const token of [...ctx.as.issuedRefreshTokens, ...ctx.as.issuedTokens])
      t.notMatch(logs, token, 'no token in the log');
  },
);

t.test('the AS refuses the refresh (invalid_grant): reconnect page, tokens dropped, the RS never called', async (t) => {
  const ctx = await buildTestApp(t, {}, { captureLogs: true });
  ctx.as.expiresIn = 5;
  const browser = await connect(ctx);
  // The user withdrew the grant at the AS (or the refresh token expired): every refresh token is now dead.
  ctx.as.validRefreshTokens.clear();

  const res = await browser.get('/photos');
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /text\/html/);
  t.match(res.body, /Please connect again/);
  t.match(res.body, /withdrawn or has expired/);
  t.match(res.body, 'href="/connect"', 'a button to connect again');
  t.notMatch(res.body, 'action="/logout"', 'the page no longer offers connected navigation');
  t.equal(refreshCalls(ctx.as.tokenCalls).length, 1, 'one refresh attempt');
  t.equal(ctx.rs.authorizations.length, 0, 'the RS was never called with the stale token');

  const after = await browser.get('/photos');
  t.equal(after.statusCode, 303, 'tokens were cleared: not connected any more');
  t.equal(after.headers.location, '/');
  t.equal(refreshCalls(ctx.as.tokenCalls).length, 1, 'the refused refresh token is not tried again');
  t.notMatch((await browser.get('/')).body, 'You are connected');
  t.match(ctx.logs.join('\n'), /"oauthError":"invalid_grant"/);

  // Connecting again works in the same browser.
  ctx.as.expiresIn = 300;
  const again = await connect(ctx);
  t.equal((await again.get('/photos')).statusCode, 200);
});

t.test('a reused (already rotated) refresh token is refused like a revoked one', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.as.expiresIn = 5;
  const browser = await connect(ctx);
  // Someone else spent it first: the AS treats our later use as replay (RFC 9700 §4.14.2).
  ctx.as.tokenResponse = { status: 400, body: { error: 'invalid_grant', error_description: 'Refresh token reused.' } };
  const res = await browser.get('/documents/d1');
  t.equal(res.statusCode, 200);
  t.match(res.body, /withdrawn or has expired/);
  ctx.as.tokenResponse = null;
  t.equal((await browser.get('/documents')).statusCode, 303);
});

t.test('expired and no refresh token: reconnect page without any token request', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.as.expiresIn = 5;
  ctx.as.issueRefreshTokens = false;
  const browser = await connect(ctx);
  const res = await browser.get('/documents');
  t.equal(res.statusCode, 200);
  t.match(res.body, /withdrawn or has expired/);
  t.equal(ctx.as.tokenCalls.length, 1, 'no refresh attempted');
  t.equal(ctx.rs.authorizations.length, 0);
  t.equal((await browser.get('/documents')).statusCode, 303, 'tokens cleared');
});

t.test('the image proxy answers a bare 401 when the refresh is refused', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.as.expiresIn = 5;
  const browser = await connect(ctx);
  ctx.as.validRefreshTokens.clear();
  const img = await browser.get('/photos/p1/image');
  t.equal(img.statusCode, 401);
  t.equal(img.body, '');
  t.equal((await browser.get('/photos')).statusCode, 303, 'tokens cleared');
});

t.test('401 invalid_token from the RS for a token we thought valid: one refresh, one retry', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  const [oldToken] = [...ctx.as.issuedTokens];
  // The RS no longer accepts the token (e.g. the AS rotated its signing key), though it has minutes left.
  ctx.as.issuedTokens.delete(oldToken!);

  const res = await browser.get('/photos');
  t.equal(res.statusCode, 200);
  t.match(res.body, 'Cheshire cat');
  t.equal(refreshCalls(ctx.as.tokenCalls).length, 1, 'one refresh');
  const newToken = [...ctx.as.issuedTokens].at(-1);
  t.same(
    ctx.rs.authorizations,
    [`Bearer ${oldToken}`, `Bearer ${newToken}`],
    'rejected once, then retried once with the new token',
  );

  t.equal((await browser.get('/photos')).statusCode, 200);
  t.equal(refreshCalls(ctx.as.tokenCalls).length, 1, 'the new token is kept');

  // The image proxy retries the same way.
  ctx.as.issuedTokens.delete(newToken!);
  const img = await browser.get('/photos/p1/image');
  t.equal(img.statusCode, 200);
  t.same(img.rawPayload, PNG_BYTES);
  t.equal(refreshCalls(ctx.as.tokenCalls).length, 2);
});

t.test('the RS still says 401 after the refresh: no second refresh, reconnect page, tokens dropped', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  ctx.rs.mode = 'revoked';
  const res = await browser.get('/photos');
  t.equal(res.statusCode, 200);
  t.match(res.body, /Please connect again/);
  t.equal(refreshCalls(ctx.as.tokenCalls).length, 1, 'exactly one refresh');
  t.equal(ctx.rs.authorizations.length, 2, 'exactly one retry');
  ctx.rs.mode = 'ok';
  t.equal((await browser.get('/photos')).statusCode, 303);
});

t.test('a token refreshed in this request and then rejected is not refreshed a second time', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.as.expiresIn = 5;
  const browser = await connect(ctx);
  ctx.rs.mode = 'revoked';
  const res = await browser.get('/photos');
  t.match(res.body, /Please connect again/);
  t.equal(refreshCalls(ctx.as.tokenCalls).length, 1, 'the preHandler refresh only');
  t.equal(ctx.rs.authorizations.length, 1, 'no retry with a token that was just issued');
});

t.test('two parallel page loads with an expired token cause ONE refresh request', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.as.expiresIn = 5;
  const browser = await connect(ctx);
  // Slow token endpoint: without serialisation both loads would be waiting on their own refresh at once.
  ctx.as.tokenDelayMs = 150;
  ctx.as.expiresIn = 300;
  const pages = await Promise.all([browser.get('/photos'), browser.get('/documents'), browser.get('/photos/p1/image')]);
  t.same(
    pages.map((p) => p.statusCode),
    [200, 200, 200],
    'every load succeeds',
  );
  t.equal(refreshCalls(ctx.as.tokenCalls).length, 1, 'one refresh request');
  const newToken = [...ctx.as.issuedTokens].at(-1);
  t.same(new Set(ctx.rs.authorizations), new Set([`Bearer ${newToken}`]), 'all of them used the refreshed token');
  t.equal(ctx.as.validRefreshTokens.size, 1, 'the grant is intact: the rotated refresh token still works');
});

t.test('two parallel page loads rejected by the RS cause ONE refresh request', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  ctx.as.issuedTokens.clear();
  ctx.as.tokenDelayMs = 150;
  const pages = await Promise.all([browser.get('/photos'), browser.get('/documents')]);
  t.same(
    pages.map((p) => p.statusCode),
    [200, 200],
  );
  t.equal(refreshCalls(ctx.as.tokenCalls).length, 1, 'the second load reused the first one’s refresh');
});

t.test('AS unavailable during a refresh: 503 with Retry-After, the connection is kept', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.as.expiresIn = 5;
  const browser = await connect(ctx);

  ctx.as.tokenResponse = { status: 503, body: { error: 'server_error' } };
  const failing = await browser.get('/photos');
  t.equal(failing.statusCode, 503);
  t.equal(failing.headers['retry-after'], '5');
  t.match(failing.body, /authorization server is not answering/);

  ctx.as.tokenResponse = { status: 400, body: { error: 'temporarily_unavailable' } };
  t.equal((await browser.get('/photos')).statusCode, 503, 'temporarily_unavailable is an outage, not a refusal');
  t.equal((await browser.get('/photos/p1/image')).statusCode, 503);

  ctx.as.tokenResponse = null;
  // The fake spent nothing on the failed attempts, so the original refresh token still works.
  t.equal((await browser.get('/photos')).statusCode, 200, 'recovers by itself');
  t.equal(ctx.rs.authorizations.length, 1);
});

t.test('AS unreachable during a refresh: 503, connection kept', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.as.expiresIn = 5;
  const browser = await connect(ctx);
  await ctx.as.close();
  const res = await browser.get('/documents');
  t.equal(res.statusCode, 503);
  t.match(res.body, /authorization server is not answering/);
  t.equal(ctx.rs.authorizations.length, 0);
});

t.test('client authentication refused on refresh (401 invalid_client): reconnect page, never a 500', async (t) => {
  const ctx = await buildTestApp(t, {}, { captureLogs: true });
  ctx.as.expiresIn = 5;
  const browser = await connect(ctx);
  ctx.as.tokenResponse = {
    status: 401,
    body: { error: 'invalid_client' },
    headers: { 'www-authenticate': 'Basic realm="quartet", error="invalid_client"' },
  };
  const res = await browser.get('/photos');
  t.equal(res.statusCode, 200);
  t.match(res.body, /Please connect again/);
  t.match(
    ctx.logs.join('\n'),
    /"level":40[^\n]*"oauthError":"invalid_client"/,
    'logged at warn: a configuration problem',
  );
  ctx.as.tokenResponse = null;
  t.equal((await browser.get('/photos')).statusCode, 303);
});

t.test('an unusable refresh response: 502 page, never a 500', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.as.expiresIn = 5;
  const browser = await connect(ctx);
  ctx.as.tokenResponse = { status: 200, body: { token_type: 'Bearer' } };
  const res = await browser.get('/photos');
  t.equal(res.statusCode, 502);
  t.match(res.body, /unusable token response/);
});

t.test(
  'a refresh response without scope or refresh_token keeps the granted scope and the old refresh token (RFC 6749 §6)',
  async (t) => {
    const ctx = await buildTestApp(t);
    ctx.as.expiresIn = 5;
    const browser = await connect(ctx);
    const [rt1] = ctx.as.issuedRefreshTokens;
    ctx.as.issuedTokens.add('non-rotating-at');
    ctx.as.tokenResponse = {
      status: 200,
      body: { access_token: 'non-rotating-at', token_type: 'Bearer', expires_in: 5 },
    };
    t.equal((await browser.get('/photos')).statusCode, 200);
    t.equal((await browser.get('/photos')).statusCode, 200);
    const calls = refreshCalls(ctx.as.tokenCalls);
    t.equal(calls.length, 2);
    t.equal(calls[1]!.params.get('refresh_token'), rt1, 'without a new refresh token the old one stays in use');
    t.equal(ctx.rs.authorizations.at(-1), 'Bearer non-rotating-at');
  },
);
