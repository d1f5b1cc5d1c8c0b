// Dynamic client registration (RFC 7591) and its management (RFC 7592) across real processes, driven by an
// independent client library (openid-client): an app registers itself, runs code + PKCE and refresh, calls
// the resource server, reads and deletes its registration, and gets no token afterwards. Also the refusals
// a registering client sees, the registered authentication method enforced, client_credentials only with the
// initial access token, and the consent page saying the app is not verified by this server.
import t from 'tap';
import * as oidc from 'openid-client';
import { Browser, forms, submission } from './support/browser.js';
import { failure, loopback } from './support/oidc.js';
import { startStack } from './support/stack.js';

const INITIAL_TOKEN = 'root-test-initial-access-token-0123456789';
const REDIRECT = 'http://127.0.0.1:8799/callback';
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

t.setTimeout(180_000);

const { urls } = await startStack(t, {
  name: 'dcr',
  auth: () => ({ CLIENT_REGISTRATION: 'open', CLIENT_REGISTRATION_TOKEN: INITIAL_TOKEN }),
  client: false,
});
const issuer = new URL(urls.auth);
const WEB: Partial<oidc.ClientMetadata> = {
  client_name: 'Self-made Photo Frame',
  redirect_uris: [REDIRECT],
  grant_types: ['authorization_code', 'refresh_token'],
  scope: 'photos:read',
};

/** alice logs in and approves; returns the consent page and the redirect carrying the code. */
async function authorize(config: oidc.Configuration, verifier: string, state: string) {
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope: 'photos:read',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const browser = new Browser();
  let page = await browser.request(url.toString());
  while (page.location) page = await browser.request(page.location);
  page = await browser.submit(forms(page)[0]!, { username: 'alice', password: 'wonderland' });
  while (page.location) page = await browser.request(page.location);
  const consent = page;
  const approve = forms(consent).find((f) => f.action.endsWith('/interaction/consent'))!;
  const done = await browser.submit(approve, submission(approve, {}, /^allow/i));
  return { consent, callback: new URL(done.location!) };
}

t.test('an app registers itself, gets and uses tokens, reads and deletes its registration', async (t) => {
  const config = await oidc.dynamicClientRegistration(
    issuer,
    { ...WEB, token_endpoint_auth_method: 'client_secret_post' },
    undefined,
    loopback,
  );
  const registered = config.clientMetadata();
  t.match(registered, {
    client_id: String,
    client_secret: String,
    registration_access_token: String,
    registration_client_uri: `${urls.auth}/oauth/register/${registered.client_id}`,
    token_endpoint_auth_method: 'client_secret_post',
  });

  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const { consent, callback } = await authorize(config, verifier, state);
  t.match(consent.body, /Self-made Photo Frame/);
  t.match(consent.body, /not verified by this server/);
  t.match(consent.body, /<strong>127\.0\.0\.1:8799<\/strong>/, 'the host the browser goes back to');
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  t.ok(tokens.refresh_token);
  const photos = await fetch(`${urls.resource}/photos`, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  t.equal(photos.status, 200, 'the resource server accepts its token');
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);

  // RFC 7592 §2.1 read: the registration, without the secret (kept hashed), with the token presented.
  const management = { authorization: `Bearer ${registered.registration_access_token as string}` };
  const read = await fetch(registered.registration_client_uri as string, { headers: management });
  t.equal(read.status, 200);
  const body = (await read.json()) as Record<string, unknown>;
  t.match(body, { client_id: registered.client_id, client_name: 'Self-made Photo Frame', redirect_uris: [REDIRECT] });
  t.notOk('client_secret' in body);

  // RFC 7592 §2.3 delete: 204, then no token and no registration.
  const deleted = await fetch(registered.registration_client_uri as string, { method: 'DELETE', headers: management });
  t.equal(deleted.status, 204);
  t.same(await failure(() => oidc.refreshTokenGrant(config, refreshed.refresh_token!)), {
    status: 401,
    error: 'invalid_client',
    description: 'Client authentication failed.',
  });
  const gone = await fetch(registered.registration_client_uri as string, { headers: management });
  t.equal(gone.status, 401);
  t.equal(gone.headers.get('www-authenticate'), 'Bearer realm="quartet", error="invalid_token"');
  t.same(await gone.json(), { error: 'invalid_token', error_description: 'The Bearer token is invalid.' });
});

t.test('the registered authentication method is the only one accepted (RFC 7591 §2)', async (t) => {
  // Registered with the RFC 7591 default (client_secret_basic); openid-client then defaults to the body.
  const config = await oidc.dynamicClientRegistration(issuer, WEB, undefined, loopback);
  t.equal(config.clientMetadata().token_endpoint_auth_method, 'client_secret_basic');
  const verifier = oidc.randomPKCECodeVerifier();
  const { callback } = await authorize(config, verifier, 'st');
  t.same(
    await failure(() =>
      oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'st' }),
    ),
    {
      status: 401,
      error: 'invalid_client',
      description: 'This client is registered to authenticate with client_secret_basic.',
    },
  );
});

t.test('refusals a registering client sees (RFC 7591 §3.2.2)', async (t) => {
  const register = (metadata: Partial<oidc.ClientMetadata>, options = {}) =>
    failure(() => oidc.dynamicClientRegistration(issuer, metadata, undefined, { ...loopback, ...options }));
  t.same(await register({ ...WEB, redirect_uris: ['http://photos.example/callback'] }), {
    status: 400,
    error: 'invalid_redirect_uri',
    description:
      "The redirect URI 'http://photos.example/callback' must use https (http is allowed only on localhost or a loopback address).",
  });
  t.same(await register({ grant_types: ['client_credentials'] }), {
    status: 400,
    error: 'invalid_client_metadata',
    description: 'client_credentials may only be registered with an initial access token.',
  });
  t.same(await register({ ...WEB, token_endpoint_auth_method: 'client_secret_jwt' }), {
    status: 400,
    error: 'invalid_client_metadata',
    description:
      'token_endpoint_auth_method must be one of client_secret_basic, client_secret_post, none, private_key_jwt.',
  });
  t.same(await register({ ...WEB, token_endpoint_auth_method: 'private_key_jwt' }), {
    status: 400,
    error: 'invalid_client_metadata',
    description: "private_key_jwt needs the client's public keys: jwks or jwks_uri.",
  });
  t.same(await register(WEB, { initialAccessToken: 'wrong' }), {
    status: 401,
    error: 'invalid_token',
    description: undefined,
  });
});

t.test('client_credentials with the initial access token; a device client needs no redirect URI', async (t) => {
  const service = await oidc.dynamicClientRegistration(
    issuer,
    { client_name: 'Nightly Backup', grant_types: ['client_credentials'], scope: 'photos:read' },
    oidc.ClientSecretBasic(),
    { ...loopback, initialAccessToken: INITIAL_TOKEN },
  );
  const token = await oidc.clientCredentialsGrant(service, { scope: 'photos:read' });
  t.ok(token.access_token);

  const device = await oidc.dynamicClientRegistration(
    issuer,
    {
      client_name: 'Photo TV',
      grant_types: [DEVICE_CODE_GRANT],
      token_endpoint_auth_method: 'none',
      scope: 'photos:read',
    },
    oidc.None(),
    loopback,
  );
  t.match(device.clientMetadata(), {
    grant_types: [DEVICE_CODE_GRANT],
    redirect_uris: [],
    token_endpoint_auth_method: 'none',
  });
  t.notOk(device.clientMetadata().client_secret);
});
