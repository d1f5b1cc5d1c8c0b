// The "connected apps" page: the user sees the clients they approved and withdraws one; the withdrawal
// revokes the consent and every grant (refresh tokens at once, access tokens for introspection), and the
// next authorization asks for consent again.
import t from 'tap';
import { buildTestApp } from '../helper.js';
import { Browser, DEMO_REDIRECT, authorizeUrl, formField, location, obtainCode, tokenRequest } from '../browser.js';

const { app, config } = await buildTestApp(t);
const DEMO: [string, string] = ['demo-client', config.DEMO_CLIENT_SECRET];

async function accountLogin(browser: Browser, username = 'alice', password = 'wonderland') {
  const page = await browser.get('/interaction/login');
  return browser.post('/interaction/login', { _csrf: formField(page.body, '_csrf'), username, password });
}

/** The code flow for demo-client in `browser` (logging in and approving there if asked), then the token response. */
async function approveAndRedeem(browser: Browser) {
  const { code, verifier } = await obtainCode(app, { browser });
  const res = await tokenRequest(
    app,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT },
    { basic: DEMO },
  );
  return res.json();
}

t.test('without a session the page sends you to log in, and back to the page afterwards', async (t) => {
  const browser = new Browser(app);
  const res = await browser.get('/interaction/connected-apps');
  t.equal(res.statusCode, 303);
  t.equal(location(res).pathname, '/interaction/login');
  const page = await browser.get('/interaction/login');
  t.equal(page.statusCode, 200);
  t.match(page.body, /manage the apps you have connected/);
  t.notMatch(page.body, /name="request"/);
  const failed = await browser.post('/interaction/login', {
    _csrf: formField(page.body, '_csrf'),
    username: 'alice',
    password: 'nope',
  });
  t.equal(failed.statusCode, 401);
  t.match(failed.body, /username or password is incorrect/);
  const ok = await accountLogin(browser);
  t.equal(ok.statusCode, 303);
  t.equal(location(ok).pathname, '/interaction/connected-apps');
  t.equal(
    location(await browser.get('/interaction/login')).pathname,
    '/interaction/connected-apps',
    'logged in: straight to the page',
  );
});

t.test('lists the approved clients with their scopes; withdrawing revokes everything and asks again', async (t) => {
  const browser = new Browser(app);
  const tokens = await approveAndRedeem(browser);

  const page = await browser.get('/interaction/connected-apps');
  t.equal(page.statusCode, 200);
  t.match(page.body, /Quartet Photo Printer/);
  t.match(page.body, /See your photos <code>photos:read<\/code>/);
  t.match(page.body, /Read your documents/);
  t.notMatch(page.body, /Workshop CLI/, 'only what alice approved');
  t.equal(page.headers['x-frame-options'], 'DENY');

  // No CSRF token, no withdrawal.
  t.equal((await browser.post('/interaction/connected-apps/revoke', { client_id: 'demo-client' })).statusCode, 403);
  t.equal(
    (await tokenRequest(app, { token: tokens.access_token }, { basic: DEMO, url: '/oauth/introspect' })).json().active,
    true,
  );

  const res = await browser.post('/interaction/connected-apps/revoke', {
    _csrf: formField(page.body, '_csrf'),
    client_id: 'demo-client',
  });
  t.equal(res.statusCode, 303);
  const after = await browser.get(location(res).pathname + location(res).search);
  t.match(after.body, /Access for <strong>Quartet Photo Printer<\/strong> was removed/);
  t.match(after.body, /You have not connected any apps/);

  const refreshed = await tokenRequest(
    app,
    { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
    { basic: DEMO },
  );
  t.equal(refreshed.statusCode, 400);
  t.equal(refreshed.json().error, 'invalid_grant');
  t.same((await tokenRequest(app, { token: tokens.access_token }, { basic: DEMO, url: '/oauth/introspect' })).json(), {
    active: false,
  });

  const again = await browser.get(authorizeUrl());
  t.equal(location(again).pathname, '/interaction/consent', 'consent is asked again');
});

t.test("withdrawing for another user's client changes nothing of theirs", async (t) => {
  const alice = new Browser(app);
  const tokens = await approveAndRedeem(alice);
  const bob = new Browser(app);
  await accountLogin(bob, 'bob', 'builder');
  await obtainCode(app, { browser: bob });
  const page = await bob.get('/interaction/connected-apps');
  t.match(page.body, /Quartet Photo Printer/);
  await bob.post('/interaction/connected-apps/revoke', {
    _csrf: formField(page.body, '_csrf'),
    client_id: 'demo-client',
  });
  t.match((await bob.get('/interaction/connected-apps')).body, /You have not connected any apps/, "bob's is gone");
  const refreshed = await tokenRequest(
    app,
    { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
    { basic: DEMO },
  );
  t.equal(refreshed.statusCode, 200, "alice's grant untouched");
});

t.test('withdrawal whose session has ended goes to login and revokes nothing', async (t) => {
  const browser = new Browser(app);
  await accountLogin(browser);
  await obtainCode(app, { browser });
  const page = await browser.get('/interaction/connected-apps');
  browser.forgetCookie('quartet_as_session');
  const res = await browser.post('/interaction/connected-apps/revoke', {
    _csrf: formField(page.body, '_csrf'),
    client_id: 'demo-client',
  });
  t.equal(res.statusCode, 303);
  t.equal(location(res).pathname, '/interaction/login');
  t.ok(
    await app.prisma.consent.findFirst({ where: { clientId: 'demo-client', user: { username: 'alice' } } }),
    'consent still there',
  );
});
