// PROFILE=fapi2 (FAPI 2.0 Security Profile §5.3.2) across real processes, driven by an independent client library
// (openid-client): both servers' metadata say what the profile asks (RFC 8414 §2, RFC 9728 §2); an app registers
// itself with a JWK Set and private_key_jwt (RFC 7591 §2, RFC 7523 §2.2), the only client authentication the profile
// allows (§5.3.2.1); the whole flow runs through: a pushed request with a DPoP proof (§5.3.2.2, RFC 9126), alice
// approving at /authorize with request_uri, the callback with iss (RFC 9207), the code redeemed with an assertion and
// a proof, a DPoP-bound token (RFC 9449 §5) that the resource server takes only with the DPoP scheme (§5.3.3,
// RFC 9449 §7.2), and refreshes that keep the refresh token (§5.3.2.1: no rotation). Refused with their exact answers:
// a client secret, an authorization request not pushed, a token request without a proof, and an assertion whose aud
// is not the issuer as a string (§5.3.2.1). openid-client plays the client; last, Quartet's client app, registered
// with its own key, runs the same flow for alice with private_key_jwt, PAR and DPoP (CLIENT_PRIVATE_KEY).
import t from 'tap';
import * as oidc from 'openid-client';
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import { Browser, authorizeAs, connectAndSeePhotos } from './support/browser.js';
import { failure, loopback, pkceParams, withClient } from './support/oidc.js';
import { startStack } from './support/stack.js';

t.setTimeout(180_000);

// Never listened on: the code is read off the redirect to it.
const REDIRECT = 'http://127.0.0.1:8797/callback';
const FAPI2_ALGS = ['ES256', 'PS256', 'EdDSA', 'Ed25519'];

const { urls, startClient } = await startStack(t, {
  name: 'fapi2',
  auth: () => ({ PROFILE: 'fapi2', CLIENT_REGISTRATION: 'open' }),
  resource: () => ({ PROFILE: 'fapi2' }),
  client: false,
});
const TOKEN_ENDPOINT = `${urls.auth}/oauth/token`;

// The app's signing key: Ed25519, whose alg openid-client names Ed25519 (RFC 9864; FAPI 2.0 §5.4.1 says EdDSA).
const appKey = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as oidc.CryptoKeyPair;
const appJwk = { ...(await exportJWK(appKey.publicKey)), kid: 'fapi-app-1', use: 'sig' };
const privateKeyJwt = (options?: oidc.ModifyAssertionOptions) =>
  oidc.PrivateKeyJwt({ key: appKey.privateKey, kid: 'fapi-app-1' }, options);

/** Registers an app (RFC 7591 §3.1) with `metadata` over a photo frame's defaults. */
const register = (metadata: Partial<oidc.ClientMetadata>, auth?: oidc.ClientAuth) =>
  oidc.dynamicClientRegistration(
    new URL(urls.auth),
    {
      client_name: 'FAPI Photo Frame',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'photos:read',
      ...metadata,
    },
    auth,
    loopback,
  );

const app = await register(
  { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [appJwk] } },
  privateKeyJwt(),
);
const appId = app.clientMetadata().client_id;

/** A DPoP key pair, its handle for `config` and its RFC 7638 thumbprint (what cnf.jkt carries). */
async function dpopKey(config: oidc.Configuration = app) {
  const keys = await oidc.randomDPoPKeyPair('ES256');
  return { DPoP: oidc.getDPoPHandle(config, keys), jkt: await calculateJwkThumbprint(await exportJWK(keys.publicKey)) };
}

/** Pushes a code request with a proof and plays alice at /authorize; the callback URL and what redeems its code. */
async function pushAndApprove(DPoP: oidc.DPoPHandle) {
  const { params, verifier, state } = await pkceParams({ redirect_uri: REDIRECT, scope: 'photos:read' });
  const url = await oidc.buildAuthorizationUrlWithPAR(app, params, { DPoP });
  const callback = new URL(await authorizeAs(new Browser(), url.href, REDIRECT));
  return { url, callback, checks: { pkceCodeVerifier: verifier, expectedState: state } };
}

t.test('the metadata says what the profile asks (RFC 8414 §2, RFC 9728 §2, FAPI 2.0 §5.3.2)', async (t) => {
  const meta = app.serverMetadata();
  t.same(meta.token_endpoint_auth_methods_supported, ['private_key_jwt']);
  t.equal(meta.require_pushed_authorization_requests, true);
  t.same(meta.dpop_signing_alg_values_supported, FAPI2_ALGS, 'no ES384, no PS384 (§5.4.1)');
  t.equal(meta.authorization_response_iss_parameter_supported, true);

  const resource = await fetch(`${urls.resource}/.well-known/oauth-protected-resource`);
  t.equal(resource.status, 200);
  t.match(await resource.json(), {
    resource: urls.resource,
    authorization_servers: [urls.auth],
    dpop_bound_access_tokens_required: true,
  });
});

t.test('dynamic registration takes private_key_jwt apps with keys only (RFC 7591 §2, FAPI 2.0 §5.3.2.1)', async (t) => {
  t.match(app.clientMetadata(), {
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [{ kid: 'fapi-app-1' }] },
  });
  t.equal(app.clientMetadata().client_secret, undefined, 'no secret issued');
  const method = {
    status: 400,
    error: 'invalid_client_metadata',
    description: 'token_endpoint_auth_method must be one of private_key_jwt.',
  };
  t.same(await failure(() => register({})), method, 'without keys or a method (the RFC 7591 default)');
  t.same(await failure(() => register({ token_endpoint_auth_method: 'client_secret_basic' })), method);
  t.same(await failure(() => register({ token_endpoint_auth_method: 'private_key_jwt' })), {
    status: 400,
    error: 'invalid_client_metadata',
    description: "private_key_jwt needs the client's public keys: jwks or jwks_uri.",
  });
});

t.test('the whole flow: PAR, alice, code, DPoP-bound token, photos, refresh without rotation', async (t) => {
  const { DPoP, jkt } = await dpopKey();
  const { url, callback, checks } = await pushAndApprove(DPoP);
  t.same([...url.searchParams.keys()].sort(), ['client_id', 'request_uri'], 'the browser carries nothing else');
  t.equal(callback.searchParams.get('iss'), urls.auth, 'RFC 9207: the callback names the issuer');

  const tokens = await oidc.authorizationCodeGrant(app, callback, checks, undefined, { DPoP });
  t.equal(tokens.token_type, 'dpop', 'token_type DPoP (openid-client lower-cases it)');
  t.same(decodeJwt(tokens.access_token).cnf, { jkt }, "bound to the handle's key");
  t.ok(tokens.refresh_token);

  const photosUrl = new URL(`${urls.resource}/photos`);
  const photos = await oidc.fetchProtectedResource(app, tokens.access_token, photosUrl, 'GET', null, undefined, {
    DPoP,
  });
  t.equal(photos.status, 200);
  const { photos: list } = (await photos.json()) as { photos: { title: string }[] };
  t.same(list.map((p) => p.title).sort(), ['Cat on the windowsill', 'Mountain trail', 'Sunset over the bay']);

  // FAPI 2.0 §5.3.3, RFC 9449 §7.2: only the DPoP scheme is accepted, and only it is challenged.
  const asBearer = await fetch(photosUrl, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const description =
    'This resource accepts only DPoP-bound access tokens, sent with the DPoP scheme and a DPoP proof.';
  t.equal(asBearer.status, 401);
  t.same(await asBearer.json(), { error: 'invalid_token', error_description: description });
  t.equal(
    asBearer.headers.get('www-authenticate'),
    `DPoP realm="quartet-resource-server", error="invalid_token", error_description="${description}", ` +
      `algs="${FAPI2_ALGS.join(' ')}", resource_metadata="${urls.resource}/.well-known/oauth-protected-resource"`,
  );

  // §5.3.2.1: no refresh token rotation; the refresh token stays the same and keeps working.
  const refreshed = await oidc.refreshTokenGrant(app, tokens.refresh_token!, undefined, { DPoP });
  t.equal(refreshed.refresh_token, undefined, 'no new refresh token');
  t.equal(refreshed.token_type, 'dpop');
  t.same(decodeJwt(refreshed.access_token).cnf, { jkt }, 'the refreshed token is bound to the same key');
  const again = await oidc.refreshTokenGrant(app, tokens.refresh_token!, undefined, { DPoP });
  t.equal(again.refresh_token, undefined);
  t.not(again.access_token, refreshed.access_token, 'the same refresh token works again');
});

t.test('the seeded demo-client with its secret: 401 invalid_client (§5.3.2.1: private_key_jwt only)', async (t) => {
  const demo = withClient(app, 'demo-client', oidc.ClientSecretPost('demo-client-secret'));
  const { DPoP } = await dpopKey(demo);
  t.same(await failure(() => oidc.refreshTokenGrant(demo, 'any-refresh-token', undefined, { DPoP })), {
    status: 401,
    error: 'invalid_client',
    description: 'This server accepts client authentication with private_key_jwt only.',
  });
});

t.test('an authorization request that was not pushed: an error redirect (§5.3.2.2, RFC 9126 §5)', async (t) => {
  const { params, state } = await pkceParams({ redirect_uri: REDIRECT, scope: 'photos:read' });
  const res = await fetch(oidc.buildAuthorizationUrl(app, params), { redirect: 'manual' });
  t.equal(res.status, 303);
  const back = new URL(res.headers.get('location')!);
  t.equal(`${back.origin}${back.pathname}`, REDIRECT);
  t.same(Object.fromEntries(back.searchParams), {
    error: 'invalid_request',
    error_description:
      'This server accepts authorization requests only through its pushed authorization request endpoint (RFC 9126).',
    state,
    iss: urls.auth,
  });
});

t.test('a token request without a DPoP proof: 400 invalid_request, and the code is not spent', async (t) => {
  const { DPoP } = await dpopKey();
  const { callback, checks } = await pushAndApprove(DPoP);
  t.same(await failure(() => oidc.authorizationCodeGrant(app, callback, checks)), {
    status: 400,
    error: 'invalid_request',
    description: 'This server requires a DPoP proof with every token request (RFC 9449).',
  });
  const tokens = await oidc.authorizationCodeGrant(app, callback, checks, undefined, { DPoP });
  t.equal(tokens.token_type, 'dpop', 'the same code, now with a proof');
});

t.test('a client assertion whose aud is not the issuer as a string: 401 invalid_client (§5.3.2.1)', async (t) => {
  const { DPoP } = await dpopKey();
  for (const aud of [TOKEN_ENDPOINT, [urls.auth]]) {
    // openid-client always names the issuer (as a string); modifyAssertion makes the assertion other clients send.
    const other = withClient(
      app,
      appId,
      privateKeyJwt({
        [oidc.modifyAssertion]: (_header, payload) => {
          payload.aud = aud;
        },
      }),
    );
    t.same(
      await failure(() => oidc.refreshTokenGrant(other, 'any-refresh-token', undefined, { DPoP })),
      {
        status: 401,
        error: 'invalid_client',
        description: `The client assertion's aud must be this server's issuer identifier as a string, ${urls.auth}.`,
      },
      JSON.stringify(aud),
    );
  }
});

t.test(
  'the client app under the profile: private_key_jwt, PAR and DPoP (CLIENT_PRIVATE_KEY, USE_PAR, USE_DPOP)',
  async (t) => {
    // The app's key: generated here, its public half registered (RFC 7591 §2 jwks), its private JWK the app's setting.
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as oidc.CryptoKeyPair;
    const { d, ...publicJwk } = { ...(await exportJWK(pair.privateKey)), kid: 'photo-app-1' };
    const registered = await register(
      {
        client_name: 'Quartet client app',
        redirect_uris: [`${urls.client}/callback`],
        scope: 'photos:read documents:read',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [publicJwk] },
      },
      privateKeyJwt(),
    );
    await startClient({
      CLIENT_ID: registered.clientMetadata().client_id,
      CLIENT_PRIVATE_KEY: JSON.stringify({ ...publicJwk, d }),
      USE_PAR: 'true',
      USE_DPOP: 'true',
    });
    const browser = new Browser();
    const photos = await connectAndSeePhotos(browser, urls.client);
    t.equal(photos.status, 200, `photos page (${browser.history.join(', ')})`);
    t.match(photos.body, 'Cat on the windowsill');
    t.ok(
      browser.history.some(
        (h) => h.startsWith(`GET ${urls.auth}/authorize?client_id=`) && h.includes('request_uri=urn'),
      ),
      'the browser carried only client_id and request_uri (RFC 9126 §4)',
    );
  },
);
