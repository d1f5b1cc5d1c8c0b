// The device authorization grant (RFC 8628) across real processes: an independent client library
// (openid-client) starts a device authorization as the seeded public device client and polls, while alice
// approves (or denies) on the authorization server's verification page in a browser; the token it gets works
// at the resource server and refreshes. Also: slow_down grows the interval (§3.5), and a device code nobody
// approved ends in expired_token.
import t from 'tap';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { Browser, forms, submission, type Page } from './support/browser.js';
import { loopback } from './support/oidc.js';
import { startStack } from './support/stack.js';

const DEVICE_CODE_TTL = 6;
const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

t.setTimeout(180_000);

const { urls } = await startStack(t, {
  name: 'device',
  auth: () => ({ DEVICE_POLL_INTERVAL: '1', DEVICE_CODE_TTL: String(DEVICE_CODE_TTL) }),
  client: false,
});

// The seeded public device client (no secret: token endpoint auth "none"). Plain http is for loopback tests.
const config = await oidc.discovery(new URL(urls.auth), 'workshop-device', undefined, oidc.None(), loopback);

/**
 * Plays alice on the verification page: opens `url` (sign-in first), confirms the code the page shows (or
 * types `typed`), and presses Allow or Deny on the device consent page. Returns the consent page and the last.
 */
async function decideOnVerificationPage(url: string, decision: RegExp, typed?: string) {
  const browser = new Browser();
  let page: Page = await browser.request(url);
  while (page.location) page = await browser.request(page.location);
  const login = forms(page).find((f) => new URL(f.action).pathname === '/interaction/login');
  if (login) {
    page = await browser.submit(login, { username: 'alice', password: 'wonderland' });
    while (page.location) page = await browser.request(page.location);
  }
  const entry = forms(page).find((f) => new URL(f.action).pathname === '/interaction/device');
  if (!entry) throw new Error(`no code entry form: ${browser.history.join(', ')}`);
  const consent = await browser.submit(entry, typed === undefined ? {} : { user_code: typed });
  const form = forms(consent).find((f) => new URL(f.action).pathname === '/interaction/device/decision');
  if (!form) throw new Error(`no device consent form (${consent.status}): ${consent.body.slice(0, 500)}`);
  const done = await browser.submit(form, submission(form, {}, decision));
  return { consent, done };
}

/** The OAuth error a poll ends with (openid-client throws ResponseBodyError). */
async function pollError(response: oidc.DeviceAuthorizationResponse, signal?: AbortSignal): Promise<string> {
  try {
    await oidc.pollDeviceAuthorizationGrant(config, response, undefined, signal ? { signal } : undefined);
    return 'no error';
  } catch (err) {
    return (err as { error?: string }).error ?? String(err);
  }
}

t.test('approved on the verification page: openid-client polls to tokens that work and refresh', async (t) => {
  const meta = config.serverMetadata();
  t.equal(meta.device_authorization_endpoint, `${urls.auth}/oauth/device_authorization`);
  t.ok(meta.grant_types_supported?.includes(GRANT));

  const device = await oidc.initiateDeviceAuthorization(config, { scope: 'photos:read' });
  t.match(device.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  t.equal(device.verification_uri, `${urls.auth}/interaction/device`);
  t.equal(device.expires_in, DEVICE_CODE_TTL);
  // The device polls (authorization_pending meanwhile) while the person decides in a browser.
  const polling = oidc.pollDeviceAuthorizationGrant(config, device);
  const { consent, done } = await decideOnVerificationPage(device.verification_uri_complete!, /allow/i);
  t.match(consent.body, 'Workshop Device');
  t.match(consent.body, 'shown on a device in front of you');
  t.match(done.body, 'Device connected');

  const tokens = await polling;
  t.ok(tokens.access_token);
  t.ok(tokens.refresh_token, 'a refresh token: the client may use refresh_token');
  t.equal(tokens.scope, 'photos:read');
  const claims = decodeJwt(tokens.access_token);
  t.equal(claims.client_id, 'workshop-device');
  const photos = await fetch(`${urls.resource}/photos`, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  t.equal(photos.status, 200, 'the resource server accepts the token');
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  t.ok(refreshed.access_token, 'the refresh token works');

  // The device code gives tokens once.
  t.equal(await pollError(device), 'invalid_grant');
});

t.test('denied on the verification page: the device hears access_denied', async (t) => {
  const device = await oidc.initiateDeviceAuthorization(config, { scope: 'photos:read' });
  const polling = pollError(device);
  // Typed by hand at the bare verification_uri, lower case and without the dash.
  const { done } = await decideOnVerificationPage(
    device.verification_uri,
    /deny/i,
    device.user_code.replace('-', '').toLowerCase(),
  );
  t.match(done.body, 'Device denied');
  t.equal(await polling, 'access_denied');
});

t.test('nobody approves: expired_token once expires_in has passed', async (t) => {
  const device = await oidc.initiateDeviceAuthorization(config, { scope: 'photos:read' });
  // A signal longer than expires_in, so the library asks past it and hears the server's answer.
  t.equal(await pollError(device, AbortSignal.timeout((DEVICE_CODE_TTL + 10) * 1000)), 'expired_token');
});

t.test('polling too fast: slow_down, and the interval grows by 5 s (RFC 8628 §3.5)', async (t) => {
  const device = await oidc.initiateDeviceAuthorization(config, { scope: 'photos:read' });
  const poll = () =>
    fetch(`${urls.auth}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: GRANT, device_code: device.device_code, client_id: 'workshop-device' }),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as { error: string } }));
  t.same(await poll(), {
    status: 400,
    body: { error: 'authorization_pending', error_description: 'The user has not yet approved or denied the request.' },
  });
  t.same(await poll(), {
    status: 400,
    body: { error: 'slow_down', error_description: 'Polling too fast; wait at least 6 seconds between requests.' },
  });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal((await poll()).body.error, 'slow_down', 'the first interval no longer suffices');
});
