// The token lifecycle across real processes: an independent, spec-strict client library (openid-client,
// used only here) runs discovery, code + PKCE, refresh, introspection and revocation against the running
// authorization server; the resource server refuses client_credentials tokens on per-user data; and the
// revocation bound holds: a revoked grant's access token stops working at the resource server no later than
// ACCESS_TOKEN_TTL + CLOCK_TOLERANCE after it was issued (resource servers verify tokens locally).
import t from 'tap';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { Browser, authorizeAs, forms, submission } from './support/browser.js';
import { loopback } from './support/oidc.js';
import { startStack } from './support/stack.js';

const ACCESS_TOKEN_TTL = 4;
const CLOCK_TOLERANCE = 1;
const SECRET = 'lifecycle-demo-secret';

t.setTimeout(180_000);

const { urls } = await startStack(t, {
  name: 'life',
  auth: () => ({ DEMO_CLIENT_SECRET: SECRET, ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL) }),
  resource: () => ({ CLOCK_TOLERANCE: String(CLOCK_TOLERANCE) }),
  client: () => ({ CLIENT_SECRET: SECRET }),
});
// demo-client's one redirect URI is the client app's callback; the openid-client flows read the code off
// that redirect without following it.
const REDIRECT = `${urls.client}/callback`;

// Plain http is only for loopback tests; openid-client refuses it unless told.
const config = await oidc.discovery(
  new URL(urls.auth),
  'demo-client',
  SECRET,
  oidc.ClientSecretBasic(SECRET),
  loopback,
);

const last = <T>(xs: T[]): T => xs[xs.length - 1]!;

async function codeFlow(browser = new Browser()) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'photos:read documents:read',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const callback = await authorizeAs(browser, url.toString(), REDIRECT);
  // openid-client checks state, iss (RFC 9207, advertised in the metadata) and the token response.
  return oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
}

/** The OAuth error code a refresh fails with (openid-client throws ResponseBodyError). */
async function refreshError(refreshToken: string): Promise<string | undefined> {
  try {
    await oidc.refreshTokenGrant(config, refreshToken);
    return undefined;
  } catch (err) {
    return (err as { error?: string }).error;
  }
}

const photos = (token: string) => fetch(`${urls.resource}/photos`, { headers: { authorization: `Bearer ${token}` } });

t.test('an independent client library completes discovery, code + PKCE, refresh, introspect and revoke', async (t) => {
  const meta = config.serverMetadata();
  t.equal(meta.issuer, urls.auth);
  t.equal(meta.revocation_endpoint, `${urls.auth}/oauth/revoke`);
  t.equal(meta.introspection_endpoint, `${urls.auth}/oauth/introspect`);

  const tokens = await codeFlow();
  t.ok(tokens.access_token);
  t.ok(tokens.refresh_token, 'a refresh token');
  t.equal(tokens.token_type, 'bearer');
  t.equal((await photos(tokens.access_token)).status, 200, 'the resource server accepts the token');

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  t.not(refreshed.refresh_token, tokens.refresh_token, 'rotated');
  t.equal((await photos(refreshed.access_token)).status, 200);

  const info = await oidc.tokenIntrospection(config, refreshed.access_token);
  t.equal(info.active, true);
  t.equal(info.client_id, 'demo-client');
  t.equal(info.username, 'alice');
  t.equal(info.scope, 'photos:read documents:read');

  await oidc.tokenRevocation(config, refreshed.refresh_token!, { token_type_hint: 'refresh_token' });
  t.same(
    await oidc.tokenIntrospection(config, refreshed.access_token),
    { active: false },
    "the grant's access token is inactive at once",
  );
  t.equal(await refreshError(refreshed.refresh_token!), 'invalid_grant', 'the refresh token is dead');
  t.equal(await refreshError(tokens.refresh_token!), 'invalid_grant', 'the spent first refresh token too');
});

t.test(
  "revocation bound: a revoked grant's access token stops working within ACCESS_TOKEN_TTL + CLOCK_TOLERANCE",
  async (t) => {
    const tokens = await codeFlow();
    const { iat, exp } = decodeJwt(tokens.access_token);
    t.equal(exp! - iat!, ACCESS_TOKEN_TTL);
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    t.same(await oidc.tokenIntrospection(config, tokens.access_token), { active: false });

    // Poll the resource server until it refuses the token. Judged by when each request was SENT: a request
    // sent at time s that got 200 was checked at s or later, so s must not be past exp + tolerance (+1 s, as
    // exp is whole seconds) — robust to a slow, loaded machine, unlike the time the answer arrived.
    let lastAcceptedSentAt = 0;
    let firstRefusedSentAt = 0;
    while (Date.now() / 1000 < exp! + CLOCK_TOLERANCE + 8) {
      const sentAt = Date.now() / 1000;
      const res = await photos(tokens.access_token);
      if (res.status === 401) {
        firstRefusedSentAt = sentAt;
        t.match(res.headers.get('www-authenticate'), /error="invalid_token"/);
        break;
      }
      t.equal(res.status, 200);
      lastAcceptedSentAt = sentAt;
      await new Promise((r) => setTimeout(r, 200));
    }
    const since = (x: number) => `${(x - iat!).toFixed(1)} s`;
    t.ok(firstRefusedSentAt > 0, `refused (first refused request sent ${since(firstRefusedSentAt)} after issue)`);
    t.ok(
      lastAcceptedSentAt <= exp! + CLOCK_TOLERANCE + 1,
      `last accepted request sent ${since(lastAcceptedSentAt)} after issue; bound ${ACCESS_TOKEN_TTL + CLOCK_TOLERANCE} s`,
    );
  },
);

t.test('client_credentials: issued to the client for itself and refused on per-user data', async (t) => {
  const tokens = await oidc.clientCredentialsGrant(config, { scope: 'photos:read' });
  t.equal(decodeJwt(tokens.access_token).sub, 'demo-client');
  const res = await photos(tokens.access_token);
  t.equal(res.status, 403);
  t.match(res.headers.get('www-authenticate'), /error="insufficient_scope"/);
  t.match(
    res.headers.get('www-authenticate'),
    new RegExp(`resource_metadata="${urls.resource}/.well-known/oauth-protected-resource"`),
  );
  const meta = (await (await fetch(`${urls.resource}/.well-known/oauth-protected-resource`)).json()) as Record<
    string,
    unknown
  >;
  t.equal(meta.resource, urls.resource);
  t.same(meta.authorization_servers, [urls.auth]);
});

t.test('the client app refreshes by itself, and asks to connect again once the user withdraws access', async (t) => {
  const browser = new Browser();
  const home = await browser.request(`${urls.client}/`);
  const connectForm = forms(home).find((f) => /\/connect/.test(f.action));
  const start = connectForm
    ? await browser.request(connectForm.action, { form: submission(connectForm) })
    : await browser.request(`${urls.client}/connect`);
  const callback = await authorizeAs(browser, start.location!, REDIRECT);
  const photosPage = last(await browser.follow(await browser.request(callback)));
  t.equal(photosPage.status, 200, `photos (${browser.history.slice(-3).join(', ')})`);
  t.match(photosPage.body, /<img\b/);

  // Access tokens live ACCESS_TOKEN_TTL s: after that the client app must refresh to show the photos again.
  await new Promise((r) => setTimeout(r, (ACCESS_TOKEN_TTL + CLOCK_TOLERANCE + 1) * 1000));
  const later = last(await browser.follow(await browser.request(`${urls.client}/photos`)));
  t.equal(later.status, 200, 'still shows the photos after the first access token expired');
  t.match(later.body, /<img\b/);

  // Alice withdraws the app on the authorization server's connected apps page.
  const apps = await browser.request(`${urls.auth}/interaction/connected-apps`);
  t.equal(apps.status, 200);
  t.match(apps.body, /Quartet Photo Printer/);
  const revokeForm = forms(apps).find((f) => /revoke/.test(f.action))!;
  t.equal((await browser.request(revokeForm.action, { form: submission(revokeForm) })).status, 303);

  await new Promise((r) => setTimeout(r, (ACCESS_TOKEN_TTL + CLOCK_TOLERANCE + 1) * 1000));
  const after = last(await browser.follow(await browser.request(`${urls.client}/photos`)));
  t.not(after.status, 500);
  t.match(after.body, /connect again/i, 'the client app asks to connect again');
  t.notMatch(after.body, /<img\b[^>]*\/photos\//, 'no photos');
});
