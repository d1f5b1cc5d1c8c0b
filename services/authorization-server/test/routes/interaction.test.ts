// Login and consent pages: CSRF, anti-framing and caching headers, login session, consent storage.
import t from 'tap';
import { buildTestApp, createEnvironment } from '../helper.js';
import {
  ALICE_ID,
  Browser,
  DEMO_REDIRECT,
  authorizeUrl,
  decide,
  formField,
  location,
  login,
  obtainCode,
} from '../browser.js';

const { app, config } = await buildTestApp(t);

async function startAuthorization(browser: Browser, params = {}) {
  const res = await browser.get(authorizeUrl(params));
  const url = location(res);
  return url.pathname + url.search;
}

t.test('login page: form with CSRF token, local stylesheet, security headers', async (t) => {
  const browser = new Browser(app);
  const res = await browser.get(await startAuthorization(browser));
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /text\/html/);
  t.match(res.body, /Quartet Photo Printer/, 'names the client');
  t.match(res.body, /name="password" type="password"/);
  t.match(res.body, /href="\/assets\/style.css"/);
  t.notMatch(res.body, /https?:\/\/(?!localhost)[^"]*\.(css|js)/, 'no CDN');
  t.ok(formField(res.body, '_csrf'));
  t.equal(res.headers['x-frame-options'], 'DENY');
  t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/);
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  t.equal(res.headers['cache-control'], 'no-store');
  const csrfCookie = (res.cookies as Array<{ name: string; httpOnly?: boolean }>).find(
    (c) => c.name === 'quartet_as_csrf',
  );
  t.ok(csrfCookie?.httpOnly, 'CSRF secret in an HttpOnly cookie');

  const css = await app.inject({ url: '/assets/style.css' });
  t.equal(css.statusCode, 200);
  t.match(css.headers['content-type'], /text\/css/);
});

t.test('login POST without or with a wrong CSRF token -> 403', async (t) => {
  const browser = new Browser(app);
  const page = await browser.get(await startAuthorization(browser));
  const request = formField(page.body, 'request');
  const missing = await browser.post('/interaction/login', { request, username: 'alice', password: 'wonderland' });
  t.equal(missing.statusCode, 403);
  t.match(missing.body, /Form expired/);
  const wrong = await browser.post('/interaction/login', {
    request,
    username: 'alice',
    password: 'wonderland',
    _csrf: 'forged',
  });
  t.equal(wrong.statusCode, 403);
  const stranger = new Browser(app); // a cross-site attacker has a token but not the victim's CSRF cookie
  const noCookie = await stranger.post('/interaction/login', {
    request,
    username: 'alice',
    password: 'wonderland',
    _csrf: formField(page.body, '_csrf'),
  });
  t.equal(noCookie.statusCode, 403);
  t.notOk(browser.cookie('quartet_as_session'), 'no session was created');
});

t.test('a failed login says so without telling which part was wrong', async (t) => {
  const browser = new Browser(app);
  const loginUrl = await startAuthorization(browser);
  const wrongPassword = await login(browser, loginUrl, 'alice', 'nope');
  const unknownUser = await login(browser, loginUrl, 'mallory', 'wonderland');
  for (const res of [wrongPassword, unknownUser]) {
    t.equal(res.statusCode, 401);
    t.match(res.body, /The username or password is incorrect/);
    t.notOk(res.headers.location);
  }
  t.notOk(browser.cookie('quartet_as_session'));
});

t.test('successful login: 303, new HttpOnly SameSite=Lax session cookie, then consent', async (t) => {
  const browser = new Browser(app);
  browser.plantCookie('quartet_as_session', 'A'.repeat(43)); // a planted id is not kept
  const res = await login(browser, await startAuthorization(browser));
  t.equal(res.statusCode, 303);
  t.equal(location(res).pathname, '/interaction/consent');
  const cookie = (
    res.cookies as Array<{ name: string; value: string; httpOnly?: boolean; sameSite?: string; secure?: boolean }>
  ).find((c) => c.name === 'quartet_as_session' && c.value);
  t.ok(cookie?.httpOnly);
  t.equal(cookie?.sameSite, 'Lax');
  t.notOk(cookie?.secure, 'not Secure on an http issuer');
  t.not(cookie?.value, 'A'.repeat(43));
});

t.test('consent page names the client and each scope in plain words; deny -> access_denied', async (t) => {
  const browser = new Browser(app);
  const res = await login(browser, await startAuthorization(browser, { state: 'deny-me' }));
  const consentUrl = location(res).pathname + location(res).search;
  const page = await browser.get(consentUrl);
  t.equal(page.statusCode, 200);
  t.match(page.body, /Quartet Photo Printer/);
  t.match(page.body, /See your photos/);
  t.match(page.body, /Read your documents/);
  t.notMatch(page.body, /Add and delete your photos/);
  t.equal(page.headers['x-frame-options'], 'DENY');
  const denied = await browser.post('/interaction/consent', {
    _csrf: formField(page.body, '_csrf'),
    request: formField(page.body, 'request'),
    decision: 'deny',
  });
  t.equal(denied.statusCode, 303);
  const loc = location(denied);
  t.equal(`${loc.origin}${loc.pathname}`, DEMO_REDIRECT);
  t.equal(loc.searchParams.get('error'), 'access_denied');
  t.equal(loc.searchParams.get('state'), 'deny-me');
  t.equal(loc.searchParams.get('iss'), config.ISSUER);
  t.notOk(loc.searchParams.get('code'));
  t.same(await app.consents.grantedScopes(ALICE_ID, 'demo-client', config.RESOURCE_AUDIENCE), [], 'nothing stored');
  // The request was answered; submitting again shows the expired page.
  const again = await browser.post('/interaction/consent', {
    _csrf: formField(page.body, '_csrf'),
    request: formField(page.body, 'request'),
    decision: 'approve',
  });
  t.equal(again.statusCode, 400);
  t.match(again.body, /expired/);
});

t.test('consent POST without a valid CSRF token -> 403', async (t) => {
  const browser = new Browser(app);
  const res = await login(browser, await startAuthorization(browser));
  const page = await browser.get(location(res).pathname + location(res).search);
  const request = formField(page.body, 'request');
  t.equal((await browser.post('/interaction/consent', { request, decision: 'approve' })).statusCode, 403);
  t.equal((await browser.post('/interaction/consent', { request, decision: 'approve', _csrf: 'x' })).statusCode, 403);
});

t.test('approved consent is stored, merged, and not asked again for the same or fewer scopes', async (t) => {
  const browser = new Browser(app);
  const bob = { username: 'bob', password: 'builder' };
  let res = await browser.get(authorizeUrl({ scope: 'photos:read' }));
  res = await login(browser, location(res).pathname + location(res).search, bob.username, bob.password);
  t.equal(location(res).pathname, '/interaction/consent');
  res = await decide(browser, location(res).pathname + location(res).search, 'approve');
  t.equal(res.statusCode, 303);
  t.ok(location(res).searchParams.get('code'));
  const bobId = 'b0b00000-0000-4000-8000-000000000002';
  t.same(await app.consents.grantedScopes(bobId, 'demo-client', config.RESOURCE_AUDIENCE), ['photos:read']);

  // Same scope again: no login, no consent.
  res = await browser.get(authorizeUrl({ scope: 'photos:read' }));
  t.ok(location(res).searchParams.get('code'));

  // More scopes: asked again; the consent then covers both.
  res = await browser.get(authorizeUrl({ scope: 'documents:read' }));
  t.equal(location(res).pathname, '/interaction/consent');
  res = await decide(browser, location(res).pathname + location(res).search, 'approve');
  t.ok(location(res).searchParams.get('code'));
  t.same(await app.consents.grantedScopes(bobId, 'demo-client', config.RESOURCE_AUDIENCE), [
    'documents:read',
    'photos:read',
  ]);
  res = await browser.get(authorizeUrl({ scope: 'photos:read documents:read' }));
  t.ok(location(res).searchParams.get('code'), 'fewer or equal scopes: straight back');
});

t.test('login session is reused: an already logged-in user skips the login page', async (t) => {
  const { browser } = await obtainCode(app);
  const res = await browser.get(authorizeUrl({ scope: 'photos:write' }));
  t.equal(location(res).pathname, '/interaction/consent', 'no login asked');
  const loginPage = await browser.get(`/interaction/login?request=${location(res).searchParams.get('request')}`);
  t.equal(loginPage.statusCode, 303, 'login page forwards a logged-in user');
});

t.test('consent page without a session goes to login', async (t) => {
  const browser = new Browser(app);
  const loginUrl = await startAuthorization(browser);
  const requestId = new URL(loginUrl, 'http://x').searchParams.get('request');
  const res = await browser.get(`/interaction/consent?request=${requestId}`);
  t.equal(res.statusCode, 303);
  t.equal(location(res).pathname, '/interaction/login');
  const page = await browser.get(loginUrl);
  const post = await browser.post('/interaction/consent', {
    _csrf: formField(page.body, '_csrf'),
    request: requestId ?? '',
    decision: 'approve',
  });
  t.equal(post.statusCode, 303);
  t.equal(location(post).pathname, '/interaction/login');
});

t.test('unknown or expired request ids show an error page', async (t) => {
  for (const url of ['/interaction/login?request=nope', `/interaction/consent?request=${'x'.repeat(43)}`]) {
    const res = await app.inject({ url });
    t.equal(res.statusCode, 400);
    t.match(res.body, /expired/);
    t.equal(res.headers['cache-control'], 'no-store');
  }
  const missing = await app.inject({ url: '/interaction/consent' });
  t.equal(missing.statusCode, 400);
  t.match(missing.headers['content-type'], /text\/html/);
});

t.test('with an https ISSUER the session and CSRF cookies are Secure (and HSTS is sent)', async (t) => {
  // Production refuses to seed demo data: seed the database with a development start first, then start for https.
  const environment = await createEnvironment(t);
  const KEY_ENCRYPTION_SECRET = 'a-production-like-key-encryption-secret';
  await (await environment.build({ KEY_ENCRYPTION_SECRET })).close();
  const https = await environment.build({
    ISSUER: 'https://auth.example.com',
    RESOURCE_AUDIENCE: 'https://api.example.com',
    SEED_DEMO_DATA: 'false',
    KEY_ENCRYPTION_SECRET,
    DEMO_CLIENT_SECRET: 'a-production-like-client-secret-0123456789',
    PASSWORD_SCRYPT_N: '16384',
  });
  const browser = new Browser(https);
  const loginUrl = location(await browser.get(authorizeUrl()));
  const page = await browser.get(loginUrl.pathname + loginUrl.search);
  type Cookie = { name: string; secure?: boolean };
  t.ok((page.cookies as Cookie[]).find((c) => c.name === 'quartet_as_csrf')?.secure);
  t.match(page.headers['strict-transport-security'], /max-age=/);
  const res = await login(browser, loginUrl.pathname + loginUrl.search);
  t.equal(res.statusCode, 303);
  t.ok(
    (res.cookies as Cookie[]).find((c) => c.name === 'quartet_as_session' && c.secure),
    'Secure session cookie',
  );
  const consent = location(res);
  const approved = await decide(browser, consent.pathname + consent.search, 'approve');
  t.equal(location(approved).searchParams.get('iss'), 'https://auth.example.com');
});
