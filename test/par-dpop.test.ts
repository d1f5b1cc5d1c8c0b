// Pushed authorization requests (RFC 9126) and DPoP (RFC 9449) across real processes, driven by an independent
// client library (openid-client): discovery, a code flow pushed with a DPoP proof, the resource server accepting
// the DPoP-bound token, a refresh with the same key; server nonces with DPOP_NONCE_REQUIRED (openid-client answers
// use_dpop_nonce by retrying once with the nonce given); and the refusals: a request_uri used twice or by another
// client, an authorization request without PAR where the server or the client's registration requires it, a code
// bound by dpop_jkt redeemed with another key, a dpop_bound_access_tokens client without a proof.
// Two authorization servers (and their resource servers): one with the defaults (and dynamic registration on),
// one with REQUIRE_PUSHED_AUTHORIZATION_REQUESTS and DPOP_NONCE_REQUIRED, where the client app connects alice with
// PAR and DPoP (through oauth4webapi, answering the nonce) and its lab's skip-par switch is refused.
import t, { type Test } from 'tap';
import * as oidc from 'openid-client';
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import { Browser, authorizeAs, connectAndSeePhotos } from './support/browser.js';
import { openLab } from './support/lab.js';
import { failure, loopback, pkceParams } from './support/oidc.js';
import { startStack } from './support/stack.js';

t.setTimeout(300_000);

const DEMO_SECRET = 'demo-client-secret';
const SELF_REDIRECT = 'http://127.0.0.1:8799/callback';
const PLAIN_PAR = { require_pushed_authorization_requests: false };

const plain = await startStack(t, {
  name: 'par',
  auth: () => ({ CLIENT_REGISTRATION: 'open' }),
  client: false,
});
// The strict one runs the client app too, pushing its requests with DPoP (USE_PAR, USE_DPOP), in workshop mode
// for the lab's skip-par switch.
const workshop = { WORKSHOP_MODE: 'true' };
const strict = await startStack(t, {
  name: 'parstrict',
  auth: () => ({ ...workshop, REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: 'true', DPOP_NONCE_REQUIRED: 'true' }),
  resource: () => workshop,
  client: () => ({ ...workshop, USE_PAR: 'true', USE_DPOP: 'true' }),
});

/** demo-client (client_secret_basic) at the authorization server of `urls`. */
const demoClient = (auth: string) =>
  oidc.discovery(new URL(auth), 'demo-client', undefined, oidc.ClientSecretBasic(DEMO_SECRET), loopback);

/** The RFC 7638 thumbprint of a key pair's public key (what cnf.jkt and dpop_jkt carry). */
async function thumbprint(keys: oidc.CryptoKeyPair): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(keys.publicKey));
}

/** Code + PKCE parameters for `redirectUri` with a fresh verifier and state (test/support/oidc.ts). */
const codeRequest = (redirectUri: string, extra: Record<string, string> = {}) =>
  pkceParams({ redirect_uri: redirectUri, scope: 'photos:read', ...extra });

/**
 * alice approves at the pushed authorization URL; the code is redeemed with the DPoP handle, and the token is
 * checked to be bound to its key (RFC 9449 §6.1).
 */
async function redeemBound(
  t: Test,
  config: oidc.Configuration,
  url: URL,
  redirect: string,
  checks: { verifier: string; state: string },
  DPoP: oidc.DPoPHandle,
  keys: oidc.CryptoKeyPair,
) {
  const callback = await authorizeAs(new Browser(), url.href, redirect);
  const tokens = await oidc.authorizationCodeGrant(
    config,
    new URL(callback),
    { pkceCodeVerifier: checks.verifier, expectedState: checks.state },
    undefined,
    { DPoP },
  );
  t.equal(tokens.token_type, 'dpop');
  t.same(decodeJwt(tokens.access_token).cnf, { jkt: await thumbprint(keys) });
  return tokens;
}

/** What a browser gets at `url` without following it: status, Location, body. */
async function visit(url: string | URL): Promise<{ status: number; location: string | null; body: string }> {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), body: await res.text() };
}

/** Expects an RFC 6749 §4.1.2.1 error redirect to `redirectUri` with exactly these parameters. */
function expectErrorRedirect(
  t: Test,
  answer: { status: number; location: string | null },
  redirectUri: string,
  params: Record<string, string>,
) {
  t.equal(answer.status, 303);
  const location = new URL(answer.location!);
  t.equal(`${location.origin}${location.pathname}`, redirectUri);
  t.same(Object.fromEntries(location.searchParams), params);
}

t.test('discovery: the PAR endpoint, whether PAR is required, the DPoP algorithms (RFC 9126 §5)', async (t) => {
  const config = await demoClient(plain.urls.auth);
  t.match(config.serverMetadata(), {
    pushed_authorization_request_endpoint: `${plain.urls.auth}/oauth/par`,
    ...PLAIN_PAR,
    dpop_signing_alg_values_supported: ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'PS384'],
  });
  const strictConfig = await demoClient(strict.urls.auth);
  t.equal(strictConfig.serverMetadata().require_pushed_authorization_requests, true);
});

t.test(
  'a pushed request with a DPoP proof: DPoP-bound tokens that work at the resource server and refresh',
  async (t) => {
    const config = await demoClient(plain.urls.auth);
    const redirect = `${plain.urls.client}/callback`;
    const keys = await oidc.randomDPoPKeyPair('ES256');
    const DPoP = oidc.getDPoPHandle(config, keys);
    const { params, verifier, state } = await codeRequest(redirect);
    const url = await oidc.buildAuthorizationUrlWithPAR(config, params, { DPoP });
    t.same([...url.searchParams.keys()].sort(), ['client_id', 'request_uri'], 'the browser carries nothing else');
    t.match(url.searchParams.get('request_uri'), /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/);

    const tokens = await redeemBound(t, config, url, redirect, { verifier, state }, DPoP, keys);
    const jkt = await thumbprint(keys);

    const photos = await oidc.fetchProtectedResource(
      config,
      tokens.access_token,
      new URL(`${plain.urls.resource}/photos`),
      'GET',
      undefined,
      undefined,
      { DPoP },
    );
    t.equal(photos.status, 200, 'the resource server accepts the DPoP-bound token with a proof');
    const asBearer = await fetch(`${plain.urls.resource}/photos`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    t.equal(asBearer.status, 401, 'and not as a Bearer token');

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP });
    t.equal(refreshed.token_type, 'dpop');
    t.same(decodeJwt(refreshed.access_token).cnf, { jkt }, 'the refreshed token is bound to the same key');

    // RFC 9126 §4: the request_uri works once.
    const again = await visit(url);
    t.equal(again.status, 400);
    t.equal(again.location, null, 'an error page, never a redirect');
    t.match(again.body, 'The request_uri is unknown, has expired or was already used.');
  },
);

t.test("another client's request_uri: an error page (RFC 9126 §2.2: bound to its client)", async (t) => {
  const config = await demoClient(plain.urls.auth);
  const { params } = await codeRequest(`${plain.urls.client}/callback`);
  const url = await oidc.buildAuthorizationUrlWithPAR(config, params);
  url.searchParams.set('client_id', 'workshop-cli');
  const answer = await visit(url);
  t.equal(answer.status, 400);
  t.equal(answer.location, null);
  t.match(answer.body, 'The request_uri was pushed by another client.');
});

t.test('a code bound by dpop_jkt and redeemed with another key: invalid_grant (RFC 9449 §10)', async (t) => {
  const config = await demoClient(plain.urls.auth);
  const redirect = `${plain.urls.client}/callback`;
  const keys = await oidc.randomDPoPKeyPair('ES256');
  const thief = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
  const { params, verifier, state } = await codeRequest(redirect, { dpop_jkt: await thumbprint(keys) });
  // A front-channel request: dpop_jkt is an authorization request parameter (§10), no PAR needed here.
  const callback = await authorizeAs(new Browser(), oidc.buildAuthorizationUrl(config, params).href, redirect);
  t.same(
    await failure(() =>
      oidc.authorizationCodeGrant(
        config,
        new URL(callback),
        { pkceCodeVerifier: verifier, expectedState: state },
        undefined,
        {
          DPoP: thief,
        },
      ),
    ),
    {
      status: 400,
      error: 'invalid_grant',
      description: 'The authorization code is bound to another DPoP key (dpop_jkt).',
    },
  );
});

t.test('a client registered with require_pushed_authorization_requests and dpop_bound_access_tokens', async (t) => {
  const config = await oidc.dynamicClientRegistration(
    new URL(plain.urls.auth),
    {
      client_name: 'Strict Photo Frame',
      redirect_uris: [SELF_REDIRECT],
      grant_types: ['authorization_code'],
      scope: 'photos:read',
      token_endpoint_auth_method: 'client_secret_post',
      require_pushed_authorization_requests: true,
      dpop_bound_access_tokens: true,
    },
    undefined,
    loopback,
  );
  t.match(config.clientMetadata(), { require_pushed_authorization_requests: true, dpop_bound_access_tokens: true });

  // RFC 9126 §4, §6: the front channel alone is refused, back to the (verified) redirect URI.
  const direct = await codeRequest(SELF_REDIRECT);
  expectErrorRedirect(t, await visit(oidc.buildAuthorizationUrl(config, direct.params)), SELF_REDIRECT, {
    error: 'invalid_request',
    error_description:
      'This client must push its authorization requests to the pushed authorization request endpoint (RFC 9126).',
    state: direct.state,
    iss: plain.urls.auth,
  });

  const { params, verifier, state } = await codeRequest(SELF_REDIRECT);
  const url = await oidc.buildAuthorizationUrlWithPAR(config, params);
  const callback = new URL(await authorizeAs(new Browser(), url.href, SELF_REDIRECT));
  const checks = { pkceCodeVerifier: verifier, expectedState: state };
  // RFC 9449 §5.2: a token request without a proof is refused, and spends nothing.
  t.same(await failure(() => oidc.authorizationCodeGrant(config, callback, checks)), {
    status: 400,
    error: 'invalid_request',
    description: 'This client is registered with dpop_bound_access_tokens: every token request needs a DPoP proof.',
  });
  const DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
  const tokens = await oidc.authorizationCodeGrant(config, callback, checks, undefined, { DPoP });
  t.equal(tokens.token_type, 'dpop');
});

t.test(
  'REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: an authorization request without PAR is refused (RFC 9126 §5)',
  async (t) => {
    const config = await demoClient(strict.urls.auth);
    const { params, state } = await codeRequest(`${strict.urls.client}/callback`);
    expectErrorRedirect(t, await visit(oidc.buildAuthorizationUrl(config, params)), `${strict.urls.client}/callback`, {
      error: 'invalid_request',
      error_description:
        'This server accepts authorization requests only through its pushed authorization request endpoint (RFC 9126).',
      state,
      iss: strict.urls.auth,
    });
  },
);

/** Requests of `route` answered `status` so far, from the authorization server's /metrics. */
async function answered(auth: string, route: string, status: number): Promise<number> {
  const text = await (await fetch(`${auth}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`http_requests_total{method="POST",route="${route}",status_code="${status}"}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

t.test(
  'DPOP_NONCE_REQUIRED: openid-client is told a nonce (use_dpop_nonce) and retries with it (RFC 9449 §8)',
  async (t) => {
    const config = await demoClient(strict.urls.auth);
    const redirect = `${strict.urls.client}/callback`;
    const keys = await oidc.randomDPoPKeyPair('ES256');
    const DPoP = oidc.getDPoPHandle(config, keys);
    const askedBefore = await answered(strict.urls.auth, '/oauth/par', 400);
    const { params, verifier, state } = await codeRequest(redirect);
    const url = await oidc.buildAuthorizationUrlWithPAR(config, params, { DPoP });
    t.equal(
      (await answered(strict.urls.auth, '/oauth/par', 400)) - askedBefore,
      1,
      'the first push was answered use_dpop_nonce, the retry with the nonce succeeded',
    );

    // The handle keeps the nonce the server gave (every answer carries one): the token request needs no retry.
    const tokens = await redeemBound(t, config, url, redirect, { verifier, state }, DPoP, keys);
    const photos = await oidc.fetchProtectedResource(
      config,
      tokens.access_token,
      new URL(`${strict.urls.resource}/photos`),
      'GET',
      undefined,
      undefined,
      { DPoP },
    );
    t.equal(photos.status, 200);

    // A fresh handle has no nonce: its refresh is asked for one and retried.
    const fresh = oidc.getDPoPHandle(config, keys);
    const tokenAskedBefore = await answered(strict.urls.auth, '/oauth/token', 400);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP: fresh });
    t.equal(refreshed.token_type, 'dpop');
    t.equal((await answered(strict.urls.auth, '/oauth/token', 400)) - tokenAskedBefore, 1, 'one use_dpop_nonce');

    // Without a nonce, a hand-made proof is refused with use_dpop_nonce and a DPoP-Nonce header.
    const res = await fetch(`${strict.urls.auth}/oauth/par`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`demo-client:${DEMO_SECRET}`).toString('base64')}`,
        dpop: 'not-a-proof',
      },
      body: new URLSearchParams(params).toString(),
    });
    t.equal(res.status, 400);
    t.equal(((await res.json()) as { error: string }).error, 'invalid_dpop_proof');
    t.match(res.headers.get('dpop-nonce'), /^[A-Za-z0-9_-]{43}$/, 'every answer carries a nonce');
  },
);

t.test(
  'the client app pushes with a DPoP proof, answers the nonce, and shows the photos (USE_PAR, USE_DPOP)',
  async (t) => {
    const browser = new Browser();
    const photos = await connectAndSeePhotos(browser, strict.urls.client);
    t.equal(photos.status, 200, `photos page (${browser.history.join(', ')})`);
    t.match(photos.body, /<img\b[^>]*src="[^"]*\/photos\/[^"]+\/image"/, 'her photos, fetched with a DPoP-bound token');
    t.ok(
      browser.history.some((h) => /\/authorize\?client_id=demo-client&request_uri=urn/.test(h)),
      'the browser carried only client_id and request_uri (RFC 9126 §4)',
    );
  },
);

t.test("the lab's skip-par switch where PAR is required: the authorization server refuses (RFC 9126 §5)", async (t) => {
  const lab = await openLab(new Browser(), strict.urls.client);
  const result = await lab.run('skip-par');
  t.equal(result.notRun, undefined, 'it ran');
  t.equal(result.asExpected, true, `the defence held ${JSON.stringify(result.observations)}`);
  const decisive = result.observations.at(-1)!;
  t.match(decisive, { by: 'authorization server', status: 303, error: 'invalid_request' });
});
