import t from 'tap';
import { buildTestApp, callbackUrl, startFakeAuthorizationServer, startFlow } from '../helper.js';

t.test('/connect redirects to /authorize with every parameter, S256 and a fresh state each time', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = ctx.browser();
  const first = await browser.get('/connect');
  t.equal(first.statusCode, 303);
  t.match(first.headers['cache-control'], /no-store/);
  const url = new URL(first.headers.location as string);
  t.equal(`${url.origin}${url.pathname}`, `${ctx.as.issuer}/authorize`);
  const p = url.searchParams;
  t.equal(p.get('response_type'), 'code');
  t.equal(p.get('client_id'), 'demo-client');
  t.equal(p.get('redirect_uri'), 'http://localhost:3000/callback');
  t.equal(p.get('scope'), 'photos:read documents:read');
  t.equal(p.get('code_challenge_method'), 'S256');
  t.match(p.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/, '43-char base64url S256 challenge');
  t.ok((p.get('state') ?? '').length >= 22, 'state has enough entropy');
  t.ok(browser.cookie('quartet_client_session'), 'the flow is bound to a server-side session');
  const cookie = first.headers['set-cookie'] as string;
  t.match(cookie, /HttpOnly/i);
  t.match(cookie, /SameSite=Lax/i);
  t.notMatch(cookie, /Secure/i, 'no Secure flag over http (dev)');

  const second = new URL((await browser.get('/connect')).headers.location as string).searchParams;
  t.not(second.get('state'), p.get('state'), 'fresh state');
  t.not(second.get('code_challenge'), p.get('code_challenge'), 'fresh verifier');
  t.equal(ctx.as.metadataRequests, 1, 'metadata discovered once and cached');
});

t.test('callbacks that cannot be trusted are refused without calling the token endpoint', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = ctx.browser();
  const { state } = await startFlow(browser);
  const iss = ctx.as.issuer;

  const missingState = await browser.get(callbackUrl({ code: 'c', iss }));
  t.equal(missingState.statusCode, 400, 'missing state');
  t.match(missingState.body, /state/);
  t.match(missingState.headers['content-type'], /text\/html/);

  const wrongState = await browser.get(callbackUrl({ code: 'c', state: 'not-the-state', iss }));
  t.equal(wrongState.statusCode, 400, 'wrong state');

  const otherBrowser = await ctx.browser().get(callbackUrl({ code: 'c', state, iss }));
  t.equal(otherBrowser.statusCode, 400, 'a state is only good in the browser that started the flow');

  const wrongIss = await browser.get(callbackUrl({ code: 'c', state, iss: 'https://evil.example.com' }));
  t.equal(wrongIss.statusCode, 400, 'wrong iss');
  t.match(wrongIss.body, /cannot be trusted/);

  const { state: state2 } = await startFlow(browser);
  const missingIss = await browser.get(callbackUrl({ code: 'c', state: state2 }));
  t.equal(missingIss.statusCode, 400, 'missing iss');

  const { state: state3 } = await startFlow(browser);
  const duplicated = await browser.get(
    `/callback?code=c&state=${state3}&state=${state3}&iss=${encodeURIComponent(iss)}`,
  );
  t.equal(duplicated.statusCode, 400, 'duplicated parameters');

  t.equal(ctx.as.tokenCalls.length, 0, 'the token endpoint was never called');

  // The state of the wrong-iss attempt was consumed: replaying it with the right iss fails too.
  const replay = await browser.get(callbackUrl({ code: 'c', state, iss }));
  t.equal(replay.statusCode, 400);
  t.equal(ctx.as.tokenCalls.length, 0);
});

t.test('a callback without any session is refused', async (t) => {
  const ctx = await buildTestApp(t);
  const res = await ctx.browser().get(callbackUrl({ code: 'c', state: 'x', iss: ctx.as.issuer }));
  t.equal(res.statusCode, 400);
  t.equal(ctx.as.tokenCalls.length, 0);
});

t.test('the user declining (access_denied) gets a friendly page', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = ctx.browser();
  const { state } = await startFlow(browser);
  const res = await browser.get(
    callbackUrl({ error: 'access_denied', error_description: 'The user declined.', state, iss: ctx.as.issuer }),
  );
  t.equal(res.statusCode, 200);
  t.match(res.body, /You declined/);
  t.equal(ctx.as.tokenCalls.length, 0);
  t.equal((await browser.get('/photos')).statusCode, 303, 'still not connected');
});

t.test('other error responses are explained; temporarily_unavailable is a 503', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = ctx.browser();
  let { state } = await startFlow(browser);
  const scope = await browser.get(callbackUrl({ error: 'invalid_scope', state, iss: ctx.as.issuer }));
  t.equal(scope.statusCode, 400);
  t.match(scope.body, /invalid_scope/);
  ({ state } = await startFlow(browser));
  const busy = await browser.get(callbackUrl({ error: 'temporarily_unavailable', state, iss: ctx.as.issuer }));
  t.equal(busy.statusCode, 503);
  t.equal(busy.headers['retry-after'], '5');
  t.equal(ctx.as.tokenCalls.length, 0);
});

t.test('a good callback exchanges the code once and keeps tokens server-side only', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = ctx.browser();
  await browser.get('/connect');
  const sessionBefore = browser.cookie('quartet_client_session');
  const { state } = await startFlow(browser);
  const res = await browser.get(callbackUrl({ code: 'good-code', state, iss: ctx.as.issuer }));
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/photos');

  t.equal(ctx.as.tokenCalls.length, 1, 'token endpoint called once');
  const call = ctx.as.tokenCalls[0]!;
  // RFC 6749 §2.3.1: Basic credentials are the form-urlencoded client_id and secret (oauth4webapi encodes "-" too).
  const basic = /^Basic (.+)$/.exec(call.authorization ?? '')?.[1];
  const [id, secret] = Buffer.from(basic ?? '', 'base64')
    .toString()
    .split(':')
    .map((s) => decodeURIComponent(s));
  t.same([id, secret], ['demo-client', 'demo-client-secret'], 'client_secret_basic with the configured credentials');
  t.match(call.contentType, /application\/x-www-form-urlencoded/);
  t.equal(call.params.get('grant_type'), 'authorization_code');
  t.equal(call.params.get('code'), 'good-code');
  t.equal(call.params.get('redirect_uri'), 'http://localhost:3000/callback');
  t.match(call.params.get('code_verifier'), /^[A-Za-z0-9_-]{43,128}$/);
  t.notOk(call.params.has('client_secret'), 'the secret travels only in the Authorization header');

  const [token] = [...ctx.as.issuedTokens];
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).join('\n');
  t.notMatch(setCookie, token!, 'no token in Set-Cookie');
  t.notMatch(res.body, token!, 'no token in the body');
  t.not(browser.cookie('quartet_client_session'), sessionBefore, 'session id rotated on connect');

  const photos = await browser.get('/photos');
  t.equal(photos.statusCode, 200);
  t.notMatch(photos.body, token!, 'no token in the page');
  t.equal(ctx.rs.authorizations.at(-1), `Bearer ${token}`, 'the RS got the Bearer token');

  // The same callback again (reused state): refused, and no second token request.
  const again = await browser.get(callbackUrl({ code: 'good-code', state, iss: ctx.as.issuer }));
  t.equal(again.statusCode, 400);
  t.equal(ctx.as.tokenCalls.length, 1, 'no second token request');
});

t.test('a refused token request is explained and nothing is stored', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = ctx.browser();
  ctx.as.tokenResponse = { status: 400, body: { error: 'invalid_grant', error_description: 'Code expired.' } };
  const { state } = await startFlow(browser);
  const res = await browser.get(callbackUrl({ code: 'old', state, iss: ctx.as.issuer }));
  t.equal(res.statusCode, 502);
  t.match(res.body, /invalid_grant/);
  t.equal((await browser.get('/photos')).statusCode, 303, 'not connected');

  ctx.as.tokenResponse = { status: 200, body: { token_type: 'Bearer' } };
  const { state: s2 } = await startFlow(browser);
  const bad = await browser.get(callbackUrl({ code: 'c', state: s2, iss: ctx.as.issuer }));
  t.equal(bad.statusCode, 502, 'a token response without access_token is refused');

  ctx.as.tokenResponse = { status: 503, body: { error: 'temporarily_unavailable' } };
  const { state: s3 } = await startFlow(browser);
  const down = await browser.get(callbackUrl({ code: 'c', state: s3, iss: ctx.as.issuer }));
  t.equal(down.statusCode, 503);
  t.equal(down.headers['retry-after'], '5');
});

t.test('authorization server down: friendly 503 with Retry-After, recovers without restart', async (t) => {
  const gone = await startFakeAuthorizationServer();
  const port = Number(new URL(gone.url).port);
  await gone.close();
  const ctx = await buildTestApp(t, { AUTHORIZATION_SERVER: gone.url });
  const browser = ctx.browser();
  const res = await browser.get('/connect');
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '5');
  t.match(res.body, /authorization server is not answering/);
  t.match(res.headers['content-type'], /text\/html/);
  t.equal(browser.cookie('quartet_client_session'), undefined, 'nothing was created');

  const back = await startFakeAuthorizationServer(port);
  t.teardown(() => back.close());
  const later = await browser.get('/connect');
  t.equal(later.statusCode, 303, 'discovery is retried once the AS is back');
  t.match(later.headers.location, `${back.issuer}/authorize?`);
});

t.test('token endpoint unreachable during the exchange: 503', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = ctx.browser();
  const { state } = await startFlow(browser);
  await ctx.as.close();
  const res = await browser.get(callbackUrl({ code: 'c', state, iss: ctx.as.issuer }));
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '5');
});
