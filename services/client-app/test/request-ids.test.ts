// One user action, one id across the services: the id of the client app's request (its caller's
// x-request-id, else a fresh one) is echoed, is on every log line, and is sent as x-request-id on each call
// that request makes to the authorization server and the resource server. Also: logs at trace level never
// hold the code, the tokens, the client secret or the session cookie; and GET /metrics.
import t from 'tap';
import { buildTestApp, callbackUrl, connect, csrfOf, startFlow } from './helper.js';

t.test('the request id is forwarded to the AS (metadata, token, refresh, revoke) and the RS', async (t) => {
  const ctx = await buildTestApp(t, {}, { captureLogs: true });
  const browser = ctx.browser();
  const { state } = await startFlow(browser);

  // The code exchange: metadata (first use) and token request, both made while handling /callback.
  const callback = await browser.get(callbackUrl({ code: 'good-code', state, iss: ctx.as.issuer }), {
    'x-request-id': 'user-action-0001',
  });
  t.equal(callback.statusCode, 303);
  t.equal(callback.headers['x-request-id'], 'user-action-0001');
  t.equal(ctx.as.tokenCalls.at(-1)?.requestId, 'user-action-0001', 'token request');
  t.ok(ctx.as.requestIds.length >= 2, 'metadata was fetched too');
  t.ok(
    ctx.as.requestIds.every((id) => id !== undefined),
    'every AS call carries an id',
  );

  const photos = await browser.get('/photos', { 'x-request-id': 'user-action-0002' });
  t.equal(photos.statusCode, 200);
  t.equal(ctx.rs.requestIds.at(-1), 'user-action-0002', 'resource server call');

  // Without an incoming id, the app's own generated one is sent (and echoed).
  const again = await browser.get('/documents');
  t.equal(again.statusCode, 200);
  t.match(again.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  t.equal(ctx.rs.requestIds.at(-1), again.headers['x-request-id']);

  // A refresh before an RS call: both carry the id of the page request.
  ctx.as.expiresIn = 1;
  const browser2 = await connect(ctx);
  await new Promise((r) => setTimeout(r, 1100));
  const refreshed = await browser2.get('/photos', { 'x-request-id': 'user-action-0003' });
  t.equal(refreshed.statusCode, 200);
  const refresh = ctx.as.tokenCalls.at(-1)!;
  t.equal(refresh.params.get('grant_type'), 'refresh_token');
  t.equal(refresh.requestId, 'user-action-0003');
  t.equal(ctx.rs.requestIds.at(-1), 'user-action-0003');

  // Logout revokes the refresh token (RFC 7009) under the logout request's id.
  const csrf = csrfOf(await browser.get('/photos'));
  t.equal((await browser.post('/logout', { _csrf: csrf }, { 'x-request-id': 'user-action-0004' })).statusCode, 303);
  t.equal(ctx.as.revokeCalls.at(-1)?.requestId, 'user-action-0004');

  // Every log line of that request carries the id.
  const lines = ctx.logs.map((l) => JSON.parse(l) as { reqId?: string; msg?: string });
  const mine = lines.filter((l) => l.reqId === 'user-action-0001').map((l) => l.msg);
  t.ok(mine.includes('incoming request') && mine.includes('request completed'));
});

t.test('logs at trace level hold no code, token, client secret or session cookie', async (t) => {
  const ctx = await buildTestApp(t, {}, { captureLogs: true, logLevel: 'trace' });
  ctx.as.expiresIn = 1;
  const browser = ctx.browser();
  const { state } = await startFlow(browser);
  const code = 'authorization-code-SECRET-value';
  t.equal((await browser.get(callbackUrl({ code, state, iss: ctx.as.issuer }))).statusCode, 303);
  await new Promise((r) => setTimeout(r, 1100));
  t.equal((await browser.get('/photos')).statusCode, 200, 'refreshed, then the RS call');
  const csrf = csrfOf(await browser.get('/photos'));
  // A callback replayed with the same code (state is spent): an error page, logged.
  await browser.get(callbackUrl({ code, state, iss: ctx.as.issuer }));
  await browser.post('/logout', { _csrf: csrf });

  const secrets = [code, state, ctx.config.CLIENT_SECRET, csrf, ...ctx.as.issuedTokens, ...ctx.as.issuedRefreshTokens];
  const output = ctx.logs.join('');
  t.ok(ctx.logs.length > 10, 'the flow was logged');
  t.ok(ctx.as.issuedRefreshTokens.length >= 2, 'a refresh happened');
  for (const secret of secrets) t.notOk(output.includes(secret), `not in the logs: ${secret.slice(0, 6)}…`);
  t.notMatch(output, /quartet_client_session=|Bearer |Basic /);
});

t.test('GET /metrics: request metrics by route pattern', async (t) => {
  const ctx = await buildTestApp(t);
  await connect(ctx);
  await ctx.app.inject('/photos/p1/image');
  const res = await ctx.app.inject('/metrics');
  t.equal(res.statusCode, 200);
  t.match(res.body, /http_requests_total\{method="GET",route="\/callback",status_code="303"\} 1/);
  t.match(res.body, /http_requests_total\{method="GET",route="\/photos\/:id\/image",status_code="303"\} 1/);
  t.notMatch(res.body, /good-code|state=|p1/);
  t.match(res.body, /process_resident_memory_bytes/);
});
