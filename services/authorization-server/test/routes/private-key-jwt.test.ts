// private_key_jwt over HTTP (RFC 7523 §2.2, §3) at every client-authenticated endpoint: client_credentials and a
// code redemption with refresh, revocation and introspection, the device authorization endpoint; aud as the issuer
// or the endpoint's own URL; every refusal with its exact answer at the token, revocation and introspection
// endpoints; keys at a jwks_uri (a local server, a private
// address refused); failed assertions throttled like wrong secrets; the replay guard capped (503). A
// private_key_jwt client has no secret and is confidential (isPublicClient): client_credentials and
// introspection are open to it, its refresh tokens are not DPoP-bound, a remembered consent approves it silently.
import t, { type Test } from 'tap';
import { decodeJwt } from 'jose';
import { startDocumentServer } from '@quartet/testing';
import { buildTestApp } from '../helper.js';
import { Browser, DEMO_REDIRECT, authorizeUrl, location, obtainCode, pkcePair, tokenRequest } from '../browser.js';
import { registerClient } from '../../src/lib/client-registration.js';
import { dpopKey, dpopProof } from '../dpop-fixtures.js';
import {
  assertionForm,
  clientAssertion,
  clientKey,
  unsecuredAssertion,
  type AssertionOptions,
  type ClientKey,
} from '../client-assertion-fixtures.js';
import type { App } from '../../src/app.js';

const documents = await startDocumentServer();
t.teardown(() => documents.close());
const { app, config } = await buildTestApp(t, { THROTTLE_CLIENT: '30' });
const ISSUER = config.ISSUER;
const TOKEN = `${ISSUER}/oauth/token`;

const key = await clientKey('ES256', 'key-1');
const stranger = await clientKey('ES256', 'key-1');
const edKey = await clientKey('Ed25519', 'ed');

/** An operator client registered with keys (the clients command's code path). */
async function keyClient(on: App, fields: { jwks?: unknown; jwksUri?: string }, web = false): Promise<string> {
  const { clientId } = await registerClient(
    on.prisma,
    {
      name: 'Key Client',
      grantTypes: web
        ? ['authorization_code', 'refresh_token']
        : ['client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
      redirectUris: web ? [DEMO_REDIRECT] : [],
      scopes: ['photos:read', 'documents:read'],
      ...fields,
    },
    { allowLoopbackHttp: true },
  );
  return clientId;
}

const SERVICE = await keyClient(app, { jwks: { keys: [key.jwk, edKey.jwk] } });
const WEB = await keyClient(app, { jwks: { keys: [key.jwk] } }, true);

type Options = AssertionOptions & { signWith?: ClientKey['privateKey'] | Uint8Array };
const assertion = (clientId = SERVICE, aud: string | string[] = ISSUER, options: Options = {}, k = key) =>
  clientAssertion(k, clientId, aud, options);

const post = async (url: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  tokenRequest(app, form, { url, headers });
const clientCredentials = async (jwt: string, extra: Record<string, string> = {}) =>
  post('/oauth/token', { grant_type: 'client_credentials', scope: 'photos:read', ...assertionForm(jwt), ...extra });

function expectAnswer(t: Test, res: Awaited<ReturnType<typeof post>>, status: number, body: object) {
  t.equal(res.statusCode, status, res.body);
  t.same(res.json(), body);
  t.equal(res.headers['cache-control'], 'no-store');
}

t.test('metadata: private_key_jwt wherever clients authenticate, with its algorithms (RFC 8414 §2)', async (t) => {
  const meta = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  const algs = ['ES256', 'ES384', 'PS256', 'PS384', 'EdDSA', 'Ed25519'];
  t.match(meta, {
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    token_endpoint_auth_signing_alg_values_supported: algs,
    revocation_endpoint_auth_methods_supported: [
      'client_secret_basic',
      'client_secret_post',
      'private_key_jwt',
      'none',
    ],
    revocation_endpoint_auth_signing_alg_values_supported: algs,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    introspection_endpoint_auth_signing_alg_values_supported: algs,
  });
  t.notOk(meta.token_endpoint_auth_signing_alg_values_supported.includes('none'), 'never none (RFC 8414 §2)');
});

t.test('client_credentials with private_key_jwt: the client is confidential (RFC 6749 §4.4)', async (t) => {
  const res = await clientCredentials(await assertion());
  t.equal(res.statusCode, 200, res.body);
  const claims = decodeJwt(res.json().access_token);
  t.equal(claims.sub, SERVICE);
  t.equal(claims.client_id, SERVICE);
  // The token endpoint's URL is an audience too (RFC 7523 §3), and client_id may come beside the assertion.
  t.equal((await clientCredentials(await assertion(SERVICE, TOKEN), { client_id: SERVICE })).statusCode, 200);
  t.equal((await clientCredentials(await assertion(SERVICE, ISSUER, {}, edKey))).statusCode, 200, 'Ed25519');
});

t.test('introspection and revocation with private_key_jwt (RFC 7662 §2.1, RFC 7009 §2.1)', async (t) => {
  const token = (await clientCredentials(await assertion())).json().access_token as string;
  const introspect = async (aud = ISSUER) =>
    post('/oauth/introspect', { token, ...assertionForm(await assertion(SERVICE, aud)) });
  const active = await introspect(`${ISSUER}/oauth/introspect`);
  t.equal(active.statusCode, 200, active.body);
  t.match(active.json(), { active: true, client_id: SERVICE, sub: SERVICE });
  const revoked = await post('/oauth/revoke', {
    token,
    ...assertionForm(await assertion(SERVICE, `${ISSUER}/oauth/revoke`)),
  });
  t.equal(revoked.statusCode, 200, revoked.body);
  t.same((await introspect()).json(), { active: false });
  // The URL of another endpoint is no audience here.
  expectAnswer(t, await post('/oauth/revoke', { token, ...assertionForm(await assertion(SERVICE, TOKEN)) }), 401, {
    error: 'invalid_client',
    error_description: `The client assertion's aud must be this server's issuer identifier, ${ISSUER} (or ${ISSUER}/oauth/revoke).`,
  });
});

t.test('the device authorization endpoint takes private_key_jwt too (RFC 8628 §3.1)', async (t) => {
  const res = await post('/oauth/device_authorization', {
    scope: 'photos:read',
    ...assertionForm(await assertion(SERVICE, `${ISSUER}/oauth/device_authorization`)),
  });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { device_code: String, user_code: String });
});

t.test(
  'a code redeemed and refreshed with private_key_jwt; confidential: no DPoP-bound refresh token, silent approval next time',
  async (t) => {
    const browser = new Browser(app);
    const params = { client_id: WEB, redirect_uri: DEMO_REDIRECT, scope: 'photos:read' };
    const { code, verifier } = await obtainCode(app, { browser, params });
    const proof = await dpopKey();
    const res = await post(
      '/oauth/token',
      {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: DEMO_REDIRECT,
        ...assertionForm(await assertion(WEB)),
      },
      { dpop: await dpopProof(proof, TOKEN) },
    );
    t.equal(res.statusCode, 200, res.body);
    t.equal(res.json().token_type, 'DPoP');
    const grant = await app.prisma.grant.findFirstOrThrow({ where: { clientId: WEB } });
    t.equal(grant.dpopJkt, null, "a confidential client's refresh tokens are not bound to the key (RFC 9449 §5)");
    const refreshed = await post('/oauth/token', {
      grant_type: 'refresh_token',
      refresh_token: res.json().refresh_token,
      ...assertionForm(await assertion(WEB)),
    });
    t.equal(refreshed.statusCode, 200, 'refreshed without a proof: it authenticated instead');

    // The consent is remembered: a confidential client is approved without asking again (RFC 6749 §10.2).
    const again = await browser.get(authorizeUrl(params, pkcePair().challenge));
    t.equal(location(again).origin + location(again).pathname, DEMO_REDIRECT, 'straight back with a code');
    t.ok(location(again).searchParams.get('code'));
  },
);

const ALGS = 'ES256, ES384, PS256, PS384, EdDSA, Ed25519';
const refused = (error_description: string) => ({ error: 'invalid_client', error_description });
const now = () => Math.floor(Date.now() / 1000);
// Each row at each endpoint, for a client of its own there (so the rows' failures do not add up to a block).
const refusals: [string, (client: string) => Promise<Record<string, string>>, number, (url: string) => object][] = [
  [
    'aud another server',
    async (client) => assertionForm(await assertion(client, 'https://other.example')),
    401,
    (url) => refused(`The client assertion's aud must be this server's issuer identifier, ${ISSUER} (or ${url}).`),
  ],
  [
    'expired',
    async (client) => assertionForm(await assertion(client, ISSUER, { claims: { iat: now() - 120, exp: now() - 60 } })),
    401,
    () => refused('The client assertion has expired; make a new one for each request.'),
  ],
  [
    'valid for too long (CLIENT_ASSERTION_MAX_LIFETIME 300 s)',
    async (client) => assertionForm(await assertion(client, ISSUER, { claims: { exp: now() + 3600 } })),
    401,
    () => refused('The client assertion may be valid for at most 300 seconds (exp - iat).'),
  ],
  [
    'alg none',
    async (client) => assertionForm(unsecuredAssertion(client, ISSUER)),
    401,
    () => refused(`The client assertion must be signed with one of ${ALGS}.`),
  ],
  [
    'HS256 with a shared key',
    async (client) =>
      assertionForm(
        await assertion(client, ISSUER, {
          header: { alg: 'HS256' },
          signWith: new TextEncoder().encode('x'.repeat(32)),
        }),
      ),
    401,
    () => refused(`The client assertion must be signed with one of ${ALGS}.`),
  ],
  [
    'a kid the client did not register',
    async (client) => assertionForm(await assertion(client, ISSUER, { header: { kid: 'unknown' } })),
    401,
    () => refused('Client authentication failed.'),
  ],
  [
    'another key under the registered kid',
    async (client) => assertionForm(await assertion(client, ISSUER, { signWith: stranger.privateKey })),
    401,
    () => refused('Client authentication failed.'),
  ],
  [
    'iss other than sub',
    async (client) => assertionForm(await assertion(client, ISSUER, { claims: { iss: WEB } })),
    401,
    () => refused('The client assertion must have iss equal to sub: both are the client_id.'),
  ],
  [
    'no jti',
    async (client) => assertionForm(await assertion(client, ISSUER, { omit: ['jti'] })),
    401,
    () => refused('The client assertion needs a jti of 1-256 characters.'),
  ],
  [
    'an assertion and client_secret (two methods)',
    async (client) => ({ ...assertionForm(await assertion(client)), client_secret: 'whatever' }),
    400,
    () => ({
      error: 'invalid_request',
      error_description: 'Use only one client authentication method (client_secret or client_assertion, not both).',
    }),
  ],
  [
    'an unknown client, exactly like a wrong secret',
    async () => assertionForm(await assertion('no-such-client')),
    401,
    () => refused('Client authentication failed.'),
  ],
  [
    'a secret client switching to private_key_jwt',
    async () => assertionForm(await assertion('demo-client')),
    401,
    () => refused('Client authentication failed.'),
  ],
];
const ENDPOINTS: [string, Record<string, string>][] = [
  ['/oauth/token', { grant_type: 'client_credentials' }],
  ['/oauth/revoke', { token: 'x' }],
  ['/oauth/introspect', { token: 'x' }],
];
for (const [path, form] of ENDPOINTS) {
  const client = await keyClient(app, { jwks: { keys: [key.jwk] } });
  for (const [name, credentials, status, body] of refusals)
    t.test(`refused at ${path}: ${name}`, async (t) => {
      const res = await post(path, { ...form, ...(await credentials(client)) });
      expectAnswer(t, res, status, body(`${ISSUER}${path}`));
      t.notOk(res.headers['www-authenticate'], 'no Basic challenge: the client did not use Basic');
    });
}

t.test('refused: a replayed assertion (its jti is single use), here and at another endpoint', async (t) => {
  const jwt = await assertion();
  t.equal((await clientCredentials(jwt)).statusCode, 200);
  const replay = refused('This client assertion was already used; make a new one (with a new jti) for each request.');
  expectAnswer(t, await clientCredentials(jwt), 401, replay);
  expectAnswer(t, await post('/oauth/introspect', { token: 'x', ...assertionForm(jwt) }), 401, replay);
});

t.test('refused: a Basic header with an assertion, and a private_key_jwt client presenting a secret', async (t) => {
  const basic = `Basic ${Buffer.from(`${SERVICE}:x`).toString('base64')}`;
  const res = await post(
    '/oauth/token',
    { grant_type: 'client_credentials', ...assertionForm(await assertion()) },
    {
      authorization: basic,
    },
  );
  expectAnswer(t, res, 400, {
    error: 'invalid_request',
    error_description: 'Use only one client authentication method (Basic header or client_assertion, not both).',
  });
  const secret = await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: [SERVICE, 'guess'] });
  expectAnswer(t, secret, 401, refused('Client authentication failed.'));
  t.equal(secret.headers['www-authenticate'], 'Basic realm="quartet"');
  const none = await post('/oauth/token', { grant_type: 'client_credentials', client_id: SERVICE });
  expectAnswer(t, none, 401, refused('Client authentication failed.'));
});

t.test('keys at a jwks_uri: fetched through the guard and cached; unusable ones named', async (t) => {
  const url = documents.put('/service/jwks.json', { keys: [key.jwk] }, { 'cache-control': 'max-age=300' });
  const byUri = await keyClient(app, { jwksUri: url });
  for (let i = 0; i < 2; i++) t.equal((await clientCredentials(await assertion(byUri))).statusCode, 200);
  t.same(
    documents.requests.filter((p) => p === '/service/jwks.json'),
    ['/service/jwks.json'],
    'fetched once, then cached',
  );

  const missing = await keyClient(app, { jwksUri: `${documents.origin}/nobody/jwks.json` });
  expectAnswer(
    t,
    await clientCredentials(await assertion(missing)),
    401,
    refused("The client's jwks_uri cannot be used: the document URL answered HTTP 404 (200 expected)."),
  );
  const internal = await keyClient(app, { jwksUri: 'https://10.0.0.1/jwks.json' });
  expectAnswer(
    t,
    await clientCredentials(await assertion(internal)),
    401,
    refused(
      "The client's jwks_uri cannot be used: the address 10.0.0.1 is private, loopback, link-local or reserved, and not fetched.",
    ),
  );
  documents.put('/leaky/jwks.json', { keys: [{ ...key.jwk, d: 'AAAA' }] });
  const leaky = await keyClient(app, { jwksUri: `${documents.origin}/leaky/jwks.json` });
  expectAnswer(
    t,
    await clientCredentials(await assertion(leaky)),
    401,
    refused(
      "The client's jwks_uri cannot be used: jwks key 1 holds private or symmetric key material ('d'): register public keys only.",
    ),
  );
});

t.test('failed assertions of a registered client are throttled like wrong secrets (429 + Retry-After)', async (t) => {
  const target = await keyClient(app, { jwks: { keys: [key.jwk] } });
  for (let i = 0; i < 30; i++) {
    const res = await clientCredentials(await assertion(target, ISSUER, { signWith: stranger.privateKey }));
    t.equal(res.statusCode, 401, `failure ${i + 1}`);
  }
  const blocked = await clientCredentials(await assertion(target));
  t.equal(blocked.statusCode, 429);
  t.ok(Number(blocked.headers['retry-after']) > 0);
  t.equal(blocked.json().error, 'temporarily_unavailable');
  t.equal((await clientCredentials(await assertion())).statusCode, 200, 'other clients go on');
});

t.test('the replay guard is capped (MAX_CLIENT_ASSERTIONS): full, 503 + Retry-After', async (t) => {
  const { app: small } = await buildTestApp(t, { MAX_CLIENT_ASSERTIONS: '2' });
  const client = await keyClient(small, { jwks: { keys: [key.jwk] } });
  const request = async () =>
    tokenRequest(small, { grant_type: 'client_credentials', ...assertionForm(await assertion(client)) });
  t.equal((await request()).statusCode, 200);
  t.equal((await request()).statusCode, 200);
  const full = await request();
  t.equal(full.statusCode, 503);
  t.equal(full.headers['retry-after'], '5');
  t.equal(full.json().error, 'temporarily_unavailable');
});
