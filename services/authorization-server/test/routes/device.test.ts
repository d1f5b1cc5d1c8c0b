// The device authorization grant (RFC 8628) over HTTP: the device authorization endpoint (§3.1-§3.2), the
// verification page (§3.3) walked by a browser, and the device's polls at the token endpoint (§3.4-§3.5),
// every refusal with its exact answer.
import t from 'tap';
import { decodeJwt } from 'jose';
import { formFor, textOf, type Page } from '@quartet/common';
import type { LightMyRequestResponse } from 'fastify';
import { createEnvironment } from '../helper.js';
import { ALICE_ID, Browser, location, login, tokenRequest } from '../browser.js';
import { expectError } from '../token-fixtures.js';
import type { App } from '../../src/app.js';

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const DEVICE_CLIENT = 'workshop-device';

const env = await createEnvironment(t);
const app = await env.build({ DEVICE_POLL_INTERVAL: '1', THROTTLE_USER_CODE: '3' });

interface DeviceAuthorizationResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

function authorizeDevice(on: App, form: Record<string, string> = {}, basic?: [string, string]) {
  return tokenRequest(
    on,
    { ...(basic ? {} : { client_id: DEVICE_CLIENT }), scope: 'photos:read', ...form },
    { url: '/oauth/device_authorization', ...(basic ? { basic } : {}) },
  );
}

async function startDevice(on: App = app): Promise<DeviceAuthorizationResponse> {
  const res = await authorizeDevice(on);
  if (res.statusCode !== 200) throw new Error(`device authorization failed: ${res.body}`);
  return res.json();
}

const poll = (deviceCode: string, on: App = app, clientId = DEVICE_CLIENT) =>
  tokenRequest(on, { grant_type: GRANT, device_code: deviceCode, client_id: clientId });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type P = Page<LightMyRequestResponse>;

/** Opens a verification URL as alice would: signs in if asked and lands on the code entry page. */
async function openVerification(browser: Browser, url: string): Promise<P> {
  const target = new URL(url, 'http://localhost:9000');
  let page = await browser.open(target.pathname + target.search);
  if (page.status === 303) {
    const next = location(page.raw!);
    if (next.pathname === '/interaction/login') {
      const res = await login(browser, next.pathname + next.search);
      page = await browser.open(location(res).pathname + location(res).search);
    }
  }
  return page;
}

/** Confirms the code on the entry page (typed as `typed`, or as prefilled) and returns the consent page. */
const confirmCode = (browser: Browser, entry: P, typed?: string) =>
  browser.agent.submit(formFor(entry, '/interaction/device'), typed === undefined ? {} : { user_code: typed });

const decideDevice = (browser: Browser, consent: P, decision: 'approve' | 'deny') =>
  browser.agent.submit(formFor(consent, '/interaction/device/decision'), { decision });

t.test('device authorization response (RFC 8628 §3.2)', async (t) => {
  const res = await authorizeDevice(app);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  const body = res.json() as DeviceAuthorizationResponse;
  t.match(body.device_code, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
  t.match(body.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  t.equal(body.verification_uri, `${app.config.ISSUER}/interaction/device`);
  t.equal(body.verification_uri_complete, `${body.verification_uri}?user_code=${body.user_code}`);
  t.equal(body.expires_in, 600);
  t.equal(body.interval, 1);
  const keys = [...((app.kv as unknown as { entries?: Map<string, unknown> }).entries?.keys() ?? [])].join(' ');
  t.notMatch(keys, body.device_code, 'the device code is stored only hashed');
  t.notMatch(keys, body.user_code.replace('-', ''), 'the user code too');
});

t.test('device authorization refusals, exact answers', async (t) => {
  expectError(t, await authorizeDevice(app, { client_id: 'nobody' }), 401, 'invalid_client');
  t.equal(
    (await authorizeDevice(app, { client_id: 'nobody' })).json().error_description,
    'Client authentication failed.',
  );
  const cases: [string, Awaited<ReturnType<typeof authorizeDevice>>, number, string, string][] = [
    [
      'a client not registered for the grant',
      await authorizeDevice(app, {}, ['demo-client', env.config.DEMO_CLIENT_SECRET]),
      400,
      'unauthorized_client',
      'This client may not use the device authorization grant.',
    ],
    [
      'no scope',
      await tokenRequest(app, { client_id: DEVICE_CLIENT }, { url: '/oauth/device_authorization' }),
      400,
      'invalid_scope',
      'scope is required.',
    ],
    [
      'a scope not allowed',
      await authorizeDevice(app, { scope: 'admin' }),
      400,
      'invalid_scope',
      'Scope not allowed for this client: admin.',
    ],
    [
      'an unknown resource (RFC 8707)',
      await authorizeDevice(app, { resource: 'https://elsewhere.example' }),
      400,
      'invalid_target',
      'Unknown resource: https://elsewhere.example.',
    ],
    [
      'a JSON body',
      await app.inject({
        method: 'POST',
        url: '/oauth/device_authorization',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ client_id: DEVICE_CLIENT }),
      }),
      400,
      'invalid_request',
      'The token request must be sent as application/x-www-form-urlencoded.',
    ],
  ];
  for (const [name, res, status, error, description] of cases) {
    t.equal(res.statusCode, status, name);
    t.same(res.json(), { error, error_description: description }, name);
  }
});

t.test('approved on the verification page: tokens once, with a refresh token (RFC 8628 §3.3-§3.5)', async (t) => {
  const device = await startDevice();
  expectError(t, await poll(device.device_code), 400, 'authorization_pending');

  const browser = new Browser(app);
  // verification_uri_complete: sign in first, then the code is prefilled but must still be confirmed.
  const first = await browser.open(`/interaction/device?user_code=${device.user_code}`);
  t.equal(first.status, 303);
  t.match(location(first.raw!).pathname + location(first.raw!).search, `/interaction/login?device=${device.user_code}`);
  const entry = await openVerification(browser, device.verification_uri_complete);
  t.equal(entry.status, 200);
  t.equal(formFor(entry, '/interaction/device').fields.user_code, device.user_code, 'prefilled, not approved');
  t.match(textOf(entry.body), 'Only enter a code shown on a device in front of you');

  const consent = await confirmCode(browser, entry);
  t.equal(consent.status, 200);
  const text = textOf(consent.body);
  t.match(text, 'Allow Workshop Device on your device to access your account?');
  t.match(text, device.user_code);
  t.match(text, 'See your photos');
  t.match(text, 'If someone sent you this code or link, choose Deny');
  t.notMatch(text, 'not verified', 'the seeded client was registered by the operator');
  await sleep(1100);
  expectError(t, await poll(device.device_code), 400, 'authorization_pending', /not yet approved/);

  const done = await decideDevice(browser, consent, 'approve');
  t.equal(done.status, 200);
  t.match(textOf(done.body), 'Device connected');

  await sleep(1100);
  const res = await poll(device.device_code);
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.headers['cache-control'], 'no-store');
  const tokens = res.json();
  t.equal(tokens.token_type, 'Bearer');
  t.equal(tokens.scope, 'photos:read');
  t.ok(tokens.refresh_token, 'a refresh token: the client may use refresh_token');
  const claims = decodeJwt(tokens.access_token);
  t.equal(claims.sub, ALICE_ID);
  t.equal(claims.client_id, DEVICE_CLIENT);
  t.equal(claims.aud, app.config.RESOURCE_AUDIENCE);

  await sleep(1100);
  const again = await poll(device.device_code);
  t.equal(again.statusCode, 400);
  t.same(again.json(), { error: 'invalid_grant', error_description: 'The device code was already used.' });

  const refreshed = await tokenRequest(app, {
    grant_type: 'refresh_token',
    refresh_token: tokens.refresh_token,
    client_id: DEVICE_CLIENT,
  });
  t.equal(refreshed.statusCode, 200, 'the refresh token works');

  // The approval is listed among alice's connected apps (where withdrawing it revokes the device's grant).
  const apps = await browser.get('/interaction/connected-apps');
  t.match(textOf(apps.body), 'Workshop Device');

  // A user code works once: entered again, it is unknown.
  const reuse = await confirmCode(browser, await browser.open('/interaction/device'), device.user_code.toLowerCase());
  t.equal(reuse.status, 400);
  t.match(textOf(reuse.body), 'This code is unknown, has expired or was already used.');
});

t.test('denied: access_denied (RFC 8628 §3.5)', async (t) => {
  const device = await startDevice();
  const browser = new Browser(app, '10.0.2.1');
  // Typed by hand on the bare verification_uri: lower case, no dash.
  const entry = await openVerification(browser, device.verification_uri);
  const consent = await confirmCode(browser, entry, device.user_code.replace('-', '').toLowerCase());
  t.equal(consent.status, 200);
  const done = await decideDevice(browser, consent, 'deny');
  t.match(textOf(done.body), 'Device denied');
  const res = await poll(device.device_code);
  t.equal(res.statusCode, 400);
  t.same(res.json(), { error: 'access_denied', error_description: 'The user denied the request.' });
  // The decision is final: the code cannot be approved afterwards.
  const late = await decideDevice(browser, consent, 'approve');
  t.equal(late.status, 400);
});

t.test('slow_down: the interval grows by 5 s and stays grown (RFC 8628 §3.5)', async (t) => {
  const device = await startDevice();
  expectError(t, await poll(device.device_code), 400, 'authorization_pending');
  const fast = await poll(device.device_code);
  t.equal(fast.statusCode, 400);
  t.same(fast.json(), {
    error: 'slow_down',
    error_description: 'Polling too fast; wait at least 6 seconds between requests.',
  });
  await sleep(1100);
  t.same(
    (await poll(device.device_code)).json().error_description,
    'Polling too fast; wait at least 11 seconds between requests.',
    'the 1 s interval no longer suffices',
  );
  const metrics = await app.inject({ url: '/metrics' });
  t.match(metrics.body, /quartet_device_slow_down_total 2/);
});

t.test('token request refusals for device codes', async (t) => {
  const device = await startDevice();
  const cases: [string, LightMyRequestResponse, string, string][] = [
    [
      'no device_code',
      await tokenRequest(app, { grant_type: GRANT, client_id: DEVICE_CLIENT }),
      'invalid_request',
      'device_code is required.',
    ],
    ['an unknown device code', await poll('nope'), 'invalid_grant', 'The device code is invalid.'],
    [
      'another client presenting it',
      await tokenRequest(
        app,
        { grant_type: GRANT, device_code: device.device_code },
        {
          basic: ['demo-client', env.config.DEMO_CLIENT_SECRET],
        },
      ),
      'unauthorized_client',
      'This client may not use grant_type urn:ietf:params:oauth:grant-type:device_code.',
    ],
  ];
  for (const [name, res, error, description] of cases) {
    t.equal(res.statusCode, 400, name);
    t.same(res.json(), { error, error_description: description }, name);
  }
  // A second device client may use the grant, but not another's code.
  await app.prisma.client.create({
    data: {
      id: 'other-device',
      name: 'Other',
      secretHash: null,
      redirectUris: [],
      allowedScopes: ['photos:read'],
      grantTypes: [GRANT],
    },
  });
  const other = await poll(device.device_code, app, 'other-device');
  t.same(other.json(), { error: 'invalid_grant', error_description: 'The device code was issued to another client.' });
  expectError(t, await poll(device.device_code), 400, 'authorization_pending', /not yet approved/);
});

t.test('the verification page: malformed codes, CSRF, login first', async (t) => {
  const browser = new Browser(app, '10.0.0.7');
  const bare = await browser.open('/interaction/device');
  t.equal(bare.status, 303);
  t.equal(location(bare.raw!).pathname + location(bare.raw!).search, '/interaction/login?device=');
  const entry = await openVerification(browser, '/interaction/device');
  const malformed = await confirmCode(browser, entry, 'ABCD-EFGH');
  t.equal(malformed.status, 400);
  t.match(textOf(malformed.body), 'That is not a code from this service: it has 8 letters, like BCDF-GHJK.');
  const noCsrf = await browser.post('/interaction/device', { user_code: 'BCDF-GHJK' });
  t.equal(noCsrf.statusCode, 403);
  const noCsrfDecision = await browser.post('/interaction/device/decision', {
    user_code: 'BCDF-GHJK',
    decision: 'approve',
  });
  t.equal(noCsrfDecision.statusCode, 403);
});

t.test('guessing user codes is throttled per address (RFC 8628 §5.1)', async (t) => {
  const device = await startDevice();
  const browser = new Browser(app, '10.0.0.9');
  const entry = await openVerification(browser, '/interaction/device');
  for (let i = 0; i < 2; i++) {
    const wrong = await confirmCode(browser, entry, 'BBBB-BBBB');
    t.equal(wrong.status, 400);
    t.match(textOf(wrong.body), 'This code is unknown, has expired or was already used.');
  }
  const third = await confirmCode(browser, entry, 'BBBB-BBBB');
  t.match(textOf(third.body), /Too many wrong codes: try again in 1 minute/);
  const right = await confirmCode(browser, entry, device.user_code);
  t.equal(right.status, 429, 'a right code is refused too while blocked');
  t.match(right.headers.get('retry-after'), /^(59|60)$/);
  t.match(textOf(right.body), 'Too many wrong codes.');
  // Another address is not affected.
  const elsewhere = new Browser(app, '10.0.1.9');
  const consent = await confirmCode(
    elsewhere,
    await openVerification(elsewhere, '/interaction/device'),
    device.user_code,
  );
  t.equal(consent.status, 200);
  const metrics = await app.inject({ url: '/metrics' });
  t.match(metrics.body, /quartet_device_user_codes_rejected_total [3-9]/);
  t.match(metrics.body, /quartet_device_authorizations_total\{outcome="approved"\} 1/);
  t.match(metrics.body, /quartet_device_authorizations_total\{outcome="denied"\} 1/);
  t.match(metrics.body, /quartet_device_authorizations_total\{outcome="redeemed"\} 1/);
});

t.test('an approved device code is redeemed once, even by concurrent polls', async (t) => {
  const device = await startDevice();
  const browser = new Browser(app, '10.0.2.2');
  const consent = await confirmCode(browser, await openVerification(browser, device.verification_uri_complete));
  await decideDevice(browser, consent, 'approve');
  const answers = await Promise.all([poll(device.device_code), poll(device.device_code), poll(device.device_code)]);
  t.equal(answers.filter((res) => res.statusCode === 200).length, 1, answers.map((r) => r.body).join('\n'));
  t.equal(await app.prisma.grant.count({ where: { clientId: DEVICE_CLIENT, revokedAt: null } }), 2);
});

t.test('expiry and the cap on pending device authorizations', async (t) => {
  const short = await createEnvironment(t);
  const small = await short.build({ DEVICE_CODE_TTL: '1', MAX_DEVICE_AUTHORIZATIONS: '2' });
  const device = await startDevice(small);
  const browser = new Browser(small);
  const entry = await openVerification(browser, device.verification_uri_complete);
  await startDevice(small);
  const full = await authorizeDevice(small);
  t.equal(full.statusCode, 503);
  t.equal(full.headers['retry-after'], '5');
  t.equal(full.json().error, 'temporarily_unavailable');
  await sleep(1100);
  const expired = await poll(device.device_code, small);
  t.equal(expired.statusCode, 400);
  t.same(expired.json(), {
    error: 'expired_token',
    error_description: 'The device code has expired; start a new device authorization.',
  });
  const late = await confirmCode(browser, entry);
  t.equal(late.status, 400);
  t.match(textOf(late.body), 'This code is unknown, has expired or was already used.');
});

t.test('a self-registered device client is named as not verified on the device consent page', async (t) => {
  await app.prisma.client.update({ where: { id: DEVICE_CLIENT }, data: { registration: 'dynamic' } });
  app.clients.evict(DEVICE_CLIENT);
  t.teardown(async () => {
    await app.prisma.client.update({ where: { id: DEVICE_CLIENT }, data: { registration: 'operator' } });
    app.clients.evict(DEVICE_CLIENT);
  });
  const device = await startDevice();
  const browser = new Browser(app);
  const consent = await confirmCode(browser, await openVerification(browser, device.verification_uri_complete));
  t.equal(consent.status, 200);
  t.match(textOf(consent.body), 'This app registered itself: its name is not verified by this server.');
});
