// Bounded state: what anyone can make the server keep is capped. Parameter sizes (a 1,000-byte state still
// works, as FAPI 2.0's conformance suite sends; 8,000 bytes do not), the number of pending authorization
// requests and of login sessions (503 + Retry-After when full), a loose per-address limit on /authorize,
// and echoed input in error descriptions (at most 200 characters, no CR/LF).
import t from 'tap';
import { buildTestApp } from '../helper.js';
import {
  Browser,
  DEMO_REDIRECT,
  authorizeUrl,
  formField,
  location,
  login,
  obtainCode,
  tokenRequest,
} from '../browser.js';

t.test('parameter sizes: 1,000 bytes of state round-trip; 8,000 are invalid_request and not echoed', async (t) => {
  const { app } = await buildTestApp(t);
  const state = 's'.repeat(1000);
  const { redirect } = await obtainCode(app, { params: { state } });
  t.equal(redirect.searchParams.get('state'), state, 'a 1,000-byte state comes back whole');

  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['state of 8,000 bytes', { state: 'x'.repeat(8000) }, /^state is longer than 2048 bytes\.$/],
    [
      'state of 2,049 bytes (multi-byte characters count as bytes)',
      { state: 'é'.repeat(1025) },
      /^state is longer than 2048 bytes\.$/,
    ],
    ['scope of 2,000 bytes', { scope: `photos:read ${'a'.repeat(2000)}` }, /^scope is longer than 1024 bytes\.$/],
    [
      'resource of 3,000 bytes',
      { resource: `http://localhost:9100/${'r'.repeat(3000)}` },
      /^resource is longer than 2048 bytes\.$/,
    ],
  ];
  for (const [name, params, description] of cases) {
    const res = await app.inject({ url: authorizeUrl(params) });
    t.equal(res.statusCode, 303, name);
    const loc = location(res);
    t.equal(`${loc.origin}${loc.pathname}`, DEMO_REDIRECT);
    t.equal(loc.searchParams.get('error'), 'invalid_request', name);
    t.match(loc.searchParams.get('error_description'), description, name);
    t.notOk(loc.searchParams.has('code'));
    if (params.state) t.notOk(loc.searchParams.has('state'), 'an oversized state is not echoed');
    else t.equal(loc.searchParams.get('state'), 'st-123');
  }
  // client_id before the client is known: a page, never a redirect.
  const long = await app.inject({ url: authorizeUrl({ client_id: 'c'.repeat(300) }) });
  t.equal(long.statusCode, 400);
  t.notOk(long.headers.location);
  t.match(long.body, /client_id is longer than 255 bytes/);
});

t.test(
  'pending authorization requests are capped: beyond MAX_PENDING_AUTHORIZATIONS, temporarily_unavailable + Retry-After',
  async (t) => {
    const { app } = await buildTestApp(t, { MAX_PENDING_AUTHORIZATIONS: '3' });
    for (let i = 0; i < 3; i++)
      t.equal(location(await app.inject({ url: authorizeUrl() })).pathname, '/interaction/login');
    const full = await app.inject({ url: authorizeUrl({ state: 'full' }) });
    t.equal(full.statusCode, 303);
    t.equal(full.headers['retry-after'], '5');
    const loc = location(full);
    t.equal(`${loc.origin}${loc.pathname}`, DEMO_REDIRECT, 'to the verified redirect URI');
    t.same(Object.fromEntries(loc.searchParams), {
      error: 'temporarily_unavailable',
      error_description: 'The service is holding too many pending requests right now; try again shortly.',
      state: 'full',
      iss: app.config.ISSUER,
    });
  },
);

t.test('a finished request frees its place in the pending store', async (t) => {
  const { app } = await buildTestApp(t, { MAX_PENDING_AUTHORIZATIONS: '1' });
  await obtainCode(app);
  await obtainCode(app);
  t.pass('two flows one after the other fit a store of one');
});

t.test('login sessions are capped: beyond MAX_LOGIN_SESSIONS a login answers 503 + Retry-After', async (t) => {
  const { app } = await buildTestApp(t, { MAX_LOGIN_SESSIONS: '2' });
  for (let i = 0; i < 2; i++)
    t.equal(
      location(await login(new Browser(app), '/interaction/login', 'alice', 'wonderland')).pathname,
      '/interaction/connected-apps',
    );
  const full = await login(new Browser(app), '/interaction/login', 'bob', 'builder');
  t.equal(full.statusCode, 503);
  t.equal(full.headers['retry-after'], '5');
  t.match(full.body, /Temporarily unavailable/);
});

t.test('a loose per-address limit on /authorize: 429 page with Retry-After; other addresses go on', async (t) => {
  const { app } = await buildTestApp(t, { RATE_LIMIT_AUTHORIZE: '3' });
  for (let i = 0; i < 3; i++)
    t.equal((await app.inject({ url: authorizeUrl(), remoteAddress: '198.51.100.7' })).statusCode, 303);
  const limited = await app.inject({ url: authorizeUrl(), remoteAddress: '198.51.100.7' });
  t.equal(limited.statusCode, 429);
  t.ok(
    Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 60,
    'Retry-After within the minute',
  );
  t.match(limited.headers['content-type'], /text\/html/);
  t.match(limited.body, /This network sent too many sign-in requests\. Try again in (\d+ seconds?|1 minute)\./);
  t.notOk(limited.headers.location, 'never redirected before the request is looked at');
  t.equal((await app.inject({ url: authorizeUrl(), remoteAddress: '198.51.100.8' })).statusCode, 303);
});

t.test('echoed input in error descriptions is cut to 200 characters and free of CR/LF', async (t) => {
  const { app, config } = await buildTestApp(t);
  const basic: [string, string] = ['demo-client', config.DEMO_CLIENT_SECRET];
  // 15 KiB: the largest that fits the form endpoints' 16 KiB body limit with the form around it.
  const grant = await tokenRequest(app, { grant_type: `${'g'.repeat(15 * 1024)}` }, { basic });
  t.equal(grant.statusCode, 400);
  t.same(grant.json(), {
    error: 'unsupported_grant_type',
    error_description: `grant_type ${'g'.repeat(200)}... is not supported.`,
  });
  const crlf = await tokenRequest(app, { grant_type: 'x\r\nInjected: yes' }, { basic });
  t.equal(crlf.json().error_description, 'grant_type x??Injected: yes is not supported.');
  const scope = await tokenRequest(
    app,
    { grant_type: 'client_credentials', scope: `photos:read ${'s'.repeat(5000)}` },
    { basic },
  );
  t.equal(scope.json().error, 'invalid_scope');
  t.ok(scope.json().error_description.length < 300, 'scope echo bounded');
  const resource = location(
    await app.inject({ url: authorizeUrl({ resource: `http://evil.example/${'r'.repeat(1500)}` }) }),
  );
  t.equal(resource.searchParams.get('error'), 'invalid_target');
  t.ok(resource.searchParams.get('error_description')!.length < 260, 'resource echo bounded');
  t.notMatch(
    resource.searchParams.get('error_description')!,
    /§/,
    'error_description stays within RFC 6749 §5.2 characters',
  );
});

t.test('the connected-apps notice comes from the server, not from a query parameter', async (t) => {
  const { app } = await buildTestApp(t);
  const { browser } = await obtainCode(app);
  const forged = await browser.get('/interaction/connected-apps?revoked=%3Cb%3EEvil%20Corp%3C%2Fb%3E');
  t.notMatch(forged.body, /Evil Corp|was removed/, 'a query parameter puts nothing on the page');
  const page = await browser.get('/interaction/connected-apps');
  const removed = await browser.post('/interaction/connected-apps/revoke', {
    _csrf: formField(page.body, '_csrf'),
    client_id: 'demo-client',
  });
  t.equal(removed.statusCode, 303);
  t.equal(removed.headers.location, '/interaction/connected-apps', 'no text in the URL');
  const after = await browser.get('/interaction/connected-apps');
  t.match(after.body, /Access for <strong>Quartet Photo Printer<\/strong> was removed/);
  t.notMatch((await browser.get('/interaction/connected-apps')).body, /was removed/, 'shown once');
});
