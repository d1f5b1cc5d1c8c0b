// Guessing is throttled (RFC 6749 §10.10 and §2.3.1, RFC 9700 §4, OWASP ASVS V2.2): failed logins per account
// and per client address, failed client authentications per client. Past a limit: 429 + Retry-After with a
// back-off that doubles; the login page says when to try again; the OAuth endpoints answer in the OAuth JSON
// error shape; a blocked key is refused even with the right password (or the answer would tell a guesser
// when a guess was right). Counters are in Redis or in-process, following the test backends.
import t, { type Test } from 'tap';
import { needsRealDatabase, needsRealRedis } from '@quartet/testing';
import { buildTestApp, createEnvironment } from '../helper.js';
import { Browser, DEMO_REDIRECT, authorizeUrl, formField, location, obtainCode, tokenRequest } from '../browser.js';
import type { App } from '../../src/app.js';
import { waitText } from '../../src/lib/wait-text.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Submits the account login form (no pending authorization request) as `browser`. */
async function tryLogin(browser: Browser, username: string, password: string) {
  const page = await browser.get('/interaction/login');
  return browser.post('/interaction/login', { _csrf: formField(page.body, '_csrf'), username, password });
}

function expectThrottledPage(t: Test, res: Awaited<ReturnType<typeof tryLogin>>, retryAfter: number) {
  t.equal(res.statusCode, 429);
  t.equal(res.headers['retry-after'], String(retryAfter));
  t.match(res.headers['content-type'], /text\/html/);
  t.match(res.body, `Too many failed sign-in attempts. Try again in ${waitText(retryAfter)}.`);
  t.match(res.body, /name="password"/, 'the form is shown again');
}

t.test(
  'per account: 5 failures, then 429 with Retry-After even for the right password; the block doubles',
  async (t) => {
    const { app } = await buildTestApp(t, { THROTTLE_BLOCK: '2', THROTTLE_MAX_BLOCK: '3' });
    const browser = new Browser(app);
    for (let i = 1; i <= 4; i++) {
      const res = await tryLogin(browser, 'alice', `wrong-${i}`);
      t.equal(res.statusCode, 401, `failure ${i}: 401`);
      t.match(res.body, /The username or password is incorrect\.<\/p>/);
    }
    const fifth = await tryLogin(browser, 'alice', 'wrong-5');
    t.equal(fifth.statusCode, 401, 'the fifth failure is still a wrong password');
    t.match(fifth.body, /Too many failed attempts: try again in 2 seconds\./, 'and says when to try again');
    expectThrottledPage(t, await tryLogin(browser, 'alice', 'wonderland'), 2);
    // Case and spaces do not open a new budget of guesses.
    t.equal((await tryLogin(browser, ' ALICE ', 'wonderland')).statusCode, 429);
    // Another account from the same address is not affected.
    t.equal((await tryLogin(new Browser(app), 'bob', 'builder')).statusCode, 303);

    await sleep(2100);
    // Five more failures: the second block is twice as long, capped at THROTTLE_MAX_BLOCK (3 s).
    for (let i = 1; i <= 5; i++) await tryLogin(browser, 'alice', `again-${i}`);
    expectThrottledPage(t, await tryLogin(browser, 'alice', 'wonderland'), 3);
    await sleep(3100);
    const ok = await tryLogin(browser, 'alice', 'wonderland');
    t.equal(ok.statusCode, 303, 'after the block the right password works');
    t.equal(location(ok).pathname, '/interaction/connected-apps');
    // A success clears the account's record: four new failures do not block.
    for (let i = 1; i <= 4; i++) t.equal((await tryLogin(new Browser(app), 'alice', `fresh-${i}`)).statusCode, 401);
  },
);

t.test('unknown usernames are throttled the same way (no hint which accounts exist)', async (t) => {
  const { app } = await buildTestApp(t);
  const browser = new Browser(app);
  for (let i = 1; i <= 5; i++) t.equal((await tryLogin(browser, 'nobody', `guess-${i}`)).statusCode, 401);
  expectThrottledPage(t, await tryLogin(browser, 'nobody', 'guess-6'), 60);
});

t.test('per address: loose, across accounts; only the peer counts unless TRUST_PROXY names the proxy', async (t) => {
  const { app } = await buildTestApp(t, { THROTTLE_LOGIN_ADDRESS: '3' });
  const attacker = new Browser(app, '198.51.100.7', { 'x-forwarded-for': '203.0.113.1' });
  for (const user of ['u1', 'u2', 'u3']) t.equal((await tryLogin(attacker, user, 'x')).statusCode, 401);
  // X-Forwarded-For is not believed without TRUST_PROXY: another claimed client address changes nothing.
  const spoofing = new Browser(app, '198.51.100.7', { 'x-forwarded-for': '203.0.113.99' });
  expectThrottledPage(t, await tryLogin(spoofing, 'alice', 'wonderland'), 60);
  t.equal(
    (await tryLogin(new Browser(app, '198.51.100.8'), 'alice', 'wonderland')).statusCode,
    303,
    'another address signs in',
  );
  // An IPv6 client counts by its /64: a new address in the same network is the same key.
  const v6 = (n: number) => new Browser(app, `2001:db8:1:2::${n}`);
  for (let n = 1; n <= 3; n++) await tryLogin(v6(n), `v6-${n}`, 'x');
  t.equal((await tryLogin(v6(4), 'bob', 'builder')).statusCode, 429);
});

t.test('behind a named proxy the client address comes from X-Forwarded-For', async (t) => {
  const { app } = await buildTestApp(t, { THROTTLE_LOGIN_ADDRESS: '2', TRUST_PROXY: '127.0.0.1' });
  const viaProxy = (client: string) => new Browser(app, '127.0.0.1', { 'x-forwarded-for': client });
  await tryLogin(viaProxy('203.0.113.1'), 'u1', 'x');
  await tryLogin(viaProxy('203.0.113.1'), 'u2', 'x');
  t.equal((await tryLogin(viaProxy('203.0.113.1'), 'alice', 'wonderland')).statusCode, 429, 'that client is blocked');
  t.equal(
    (await tryLogin(viaProxy('203.0.113.2'), 'alice', 'wonderland')).statusCode,
    303,
    'others behind the same proxy are not',
  );
});

t.test('a pending authorization request: the throttled login page keeps the request', async (t) => {
  const { app } = await buildTestApp(t, { THROTTLE_LOGIN_ACCOUNT: '1' });
  const browser = new Browser(app);
  const start = location(await browser.get(authorizeUrl()));
  const loginUrl = start.pathname + start.search;
  const page = await browser.get(loginUrl);
  await browser.post('/interaction/login', {
    _csrf: formField(page.body, '_csrf'),
    request: formField(page.body, 'request'),
    username: 'alice',
    password: 'no',
  });
  const again = await browser.get(loginUrl);
  const res = await browser.post('/interaction/login', {
    _csrf: formField(again.body, '_csrf'),
    request: formField(again.body, 'request'),
    username: 'alice',
    password: 'wonderland',
  });
  t.equal(res.statusCode, 429);
  t.match(res.body, /Quartet Photo Printer/, 'still names the client');
  t.equal(formField(res.body, 'request'), formField(page.body, 'request'), 'the request is kept for a later try');
});

const DEMO_FORM = { grant_type: 'client_credentials', scope: 'photos:read' };

async function clientAuthenticationBlocked(t: Test, app: App, secret: string) {
  for (let i = 1; i <= 3; i++) {
    const res = await tokenRequest(app, DEMO_FORM, { basic: ['demo-client', `wrong-${i}`] });
    t.equal(res.statusCode, 401, `wrong secret ${i}: 401 invalid_client`);
    t.equal(res.json().error, 'invalid_client');
  }
  const blocked = await tokenRequest(app, DEMO_FORM, { basic: ['demo-client', secret] });
  t.equal(blocked.statusCode, 429, 'the right secret is refused while blocked');
  t.equal(blocked.headers['retry-after'], '60');
  t.equal(blocked.headers['cache-control'], 'no-store');
  t.same(blocked.json(), {
    error: 'temporarily_unavailable',
    error_description: 'Too many failed authentications of this client; try again in 60 seconds.',
  });
}

t.test(
  'per client at the token endpoint: past THROTTLE_CLIENT failures, 429 in the OAuth JSON error shape',
  async (t) => {
    const { app, config } = await buildTestApp(t, { THROTTLE_CLIENT: '3' });
    await clientAuthenticationBlocked(t, app, config.DEMO_CLIENT_SECRET);
    // The same counter guards revocation and introspection (client_secret_post here).
    for (const url of ['/oauth/revoke', '/oauth/introspect']) {
      const res = await tokenRequest(
        app,
        { token: 'x', client_id: 'demo-client', client_secret: config.DEMO_CLIENT_SECRET },
        { url },
      );
      t.equal(res.statusCode, 429, url);
      t.equal(res.json().error, 'temporarily_unavailable');
    }
    // A public client authenticates with nothing to guess and is not affected; neither are other clients.
    const { code, verifier } = await obtainCode(app, {
      params: { client_id: 'workshop-cli', redirect_uri: 'http://127.0.0.1:8765/callback' },
    });
    const pub = await tokenRequest(app, {
      grant_type: 'authorization_code',
      client_id: 'workshop-cli',
      code,
      code_verifier: verifier,
      redirect_uri: 'http://127.0.0.1:8765/callback',
    });
    t.equal(pub.statusCode, 200);
  },
);

t.test('failures at revocation and introspection count too; unknown client ids create no counters', async (t) => {
  const { app, config } = await buildTestApp(t, { THROTTLE_CLIENT: '3' });
  await tokenRequest(app, { token: 'x' }, { url: '/oauth/revoke', basic: ['demo-client', 'wrong-a'] });
  await tokenRequest(app, { token: 'x' }, { url: '/oauth/introspect', basic: ['demo-client', 'wrong-b'] });
  await tokenRequest(app, DEMO_FORM, { basic: ['demo-client', 'wrong-c'] });
  t.equal((await tokenRequest(app, DEMO_FORM, { basic: ['demo-client', config.DEMO_CLIENT_SECRET] })).statusCode, 429);
  for (let i = 0; i < 6; i++) {
    const res = await tokenRequest(app, DEMO_FORM, { basic: ['no-such-client', 'x'] });
    t.equal(res.statusCode, 401, 'an unknown client is always just invalid_client');
  }
});

t.test('a code redemption by a blocked client is refused before the code is touched', async (t) => {
  const { app, config } = await buildTestApp(t, { THROTTLE_CLIENT: '3' });
  const { code, verifier } = await obtainCode(app);
  await clientAuthenticationBlocked(t, app, config.DEMO_CLIENT_SECRET);
  const res = await tokenRequest(
    app,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT },
    { basic: ['demo-client', config.DEMO_CLIENT_SECRET] },
  );
  t.equal(res.statusCode, 429);
});

t.test(
  'two replicas share the counters: a block started at one applies at the other within a second',
  { skip: needsRealDatabase || needsRealRedis },
  async (t) => {
    const environment = await createEnvironment(t);
    const a = await environment.build({ THROTTLE_CLIENT: '3' });
    const b = await environment.build({ THROTTLE_CLIENT: '3' });
    const secret = environment.config.DEMO_CLIENT_SECRET;
    t.equal(
      (await tokenRequest(b, DEMO_FORM, { basic: ['demo-client', secret] })).statusCode,
      200,
      'B has just seen the client succeed',
    );
    for (let i = 0; i < 3; i++) await tokenRequest(a, DEMO_FORM, { basic: ['demo-client', `wrong-${i}`] });
    t.equal(
      (await tokenRequest(a, DEMO_FORM, { basic: ['demo-client', secret] })).statusCode,
      429,
      'blocked at A at once',
    );
    await sleep(1100);
    t.equal(
      (await tokenRequest(b, DEMO_FORM, { basic: ['demo-client', secret] })).statusCode,
      429,
      'and at B once its one-second memory is past',
    );
  },
);

t.test('password hashing runs in a bounded queue: beyond it, 503 + Retry-After at once', async (t) => {
  // A costly dummy hash for unknown users (64 MiB, tens of ms each) and room for one check and no waiting.
  const { app } = await buildTestApp(t, {
    PASSWORD_SCRYPT_N: '65536',
    PASSWORD_HASH_CONCURRENCY: '1',
    PASSWORD_HASH_QUEUE: '0',
  });
  const page = await app.inject({ url: '/interaction/login' });
  const csrf = formField(page.body, '_csrf');
  const cookie = (page.cookies as Array<{ name: string; value: string }>).map((c) => `${c.name}=${c.value}`).join('; ');
  const attempts = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      app.inject({
        method: 'POST',
        url: '/interaction/login',
        remoteAddress: `198.51.100.${i + 1}`,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: csrf, username: `nobody-${i}`, password: 'x' }).toString(),
      }),
    ),
  );
  const statuses = attempts.map((r) => r.statusCode);
  t.ok(statuses.includes(401), `some were checked (${statuses.join(', ')})`);
  const refused = attempts.filter((r) => r.statusCode === 503);
  t.ok(refused.length > 0, 'some were refused at once');
  for (const r of refused) {
    t.equal(r.headers['retry-after'], '5');
    t.match(r.body, /Too many sign-ins are being checked right now/);
  }
  t.ok(statuses.every((s) => s === 401 || s === 503));
});
