// Dynamic client registration (RFC 7591) and its management (RFC 7592) over HTTP: what a registration
// returns and stores, the consent page of a self-registered client, the registered authentication method,
// every refusal with its exact answer, the throttle and the cap, and what a delete leaves (no more tokens).
// The app keeps client records for a minute (CLIENT_CACHE_TTL), so the tests also show that an update or
// a delete applies at once on the instance that served it.
import t from 'tap';
import type { Test } from 'tap';
import { randomUUID } from 'node:crypto';
import { hashClientSecret } from '../../src/lib/client-secrets.js';
import { DEVICE_CODE_GRANT } from '../../src/oauth/registration-checks.js';
import { buildTestApp } from '../helper.js';
import { Browser, authorizeUrl, decide, location, login, pkcePair, tokenRequest } from '../browser.js';
import { expectError } from '../token-fixtures.js';
import { assertionForm, clientAssertion, clientKey } from '../client-assertion-fixtures.js';

const INITIAL_TOKEN = 'initial-access-token-for-the-registration-tests';
const MAX_DYNAMIC_CLIENTS = 200;
const RATE_LIMIT = 40;
const { app, config } = await buildTestApp(t, {
  CLIENT_REGISTRATION: 'open',
  CLIENT_REGISTRATION_TOKEN: INITIAL_TOKEN,
  CLIENT_CACHE_TTL: '60',
  RATE_LIMIT_REGISTRATION: String(RATE_LIMIT),
  MAX_DYNAMIC_CLIENTS: String(MAX_DYNAMIC_CLIENTS),
});

const WEB = {
  client_name: 'Photo Frame',
  redirect_uris: ['https://frame.example/cb'],
  grant_types: ['authorization_code', 'refresh_token'],
  scope: 'photos:read documents:read',
  client_uri: 'https://frame.example/',
};

type Json = Record<string, unknown>;
const register = (payload: unknown, headers: Record<string, string> = {}, remoteAddress?: string) =>
  app.inject({ method: 'POST', url: '/oauth/register', payload: payload as Json, headers, remoteAddress });
const manage = (method: 'GET' | 'PUT' | 'DELETE', clientId: string, token?: string, payload?: Json) =>
  app.inject({
    method,
    url: `/oauth/register/${clientId}`,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    ...(payload ? { payload } : {}),
  });

async function registered(t: Test, payload: Json = WEB, headers: Record<string, string> = {}) {
  const res = await register(payload, headers);
  t.equal(res.statusCode, 201, res.body);
  return res.json() as Json & { client_id: string; client_secret?: string; registration_access_token: string };
}

function expectAnswer(t: Test, res: { statusCode: number; json(): unknown }, status: number, body: Json) {
  t.equal(res.statusCode, status);
  t.same(res.json(), body);
}

/** alice's browser through /authorize, login and consent for `clientId`; the consent page and the code. */
async function authorizeFor(clientId: string, redirectUri: string) {
  const browser = new Browser(app);
  const { verifier, challenge } = pkcePair();
  const params = { client_id: clientId, redirect_uri: redirectUri, scope: 'photos:read' };
  const consentUrl = location(await login(browser, location(await browser.get(authorizeUrl(params, challenge))).href));
  const consentPage = await browser.get(consentUrl.pathname + consentUrl.search);
  const done = location(await decide(browser, consentUrl.pathname + consentUrl.search, 'approve'));
  return { consentPage, code: done.searchParams.get('code')!, verifier };
}

t.test('metadata advertises the registration endpoint (RFC 8414 §2)', async (t) => {
  const meta = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  t.equal(meta.registration_endpoint, `${config.ISSUER}/oauth/register`);
});

t.test('a web app registers itself: 201, the secret and management token once, stored hashed', async (t) => {
  const res = await register({ ...WEB, unknown_field: 'ignored' });
  t.equal(res.statusCode, 201);
  t.equal(res.headers['cache-control'], 'no-store');
  const body = res.json();
  t.match(body, {
    client_id: /^[A-Za-z0-9_-]{22}$/,
    client_secret: /^[A-Za-z0-9_-]{43}$/,
    client_secret_expires_at: 0,
    client_id_issued_at: Number,
    registration_access_token: /^[A-Za-z0-9_-]{43}$/,
    registration_client_uri: `${config.ISSUER}/oauth/register/${body.client_id}`,
  });
  t.same(
    {
      ...body,
      client_id: 0,
      client_secret: 0,
      client_id_issued_at: 0,
      registration_access_token: 0,
      registration_client_uri: 0,
    },
    {
      client_id: 0,
      client_secret: 0,
      client_id_issued_at: 0,
      registration_access_token: 0,
      registration_client_uri: 0,
      client_secret_expires_at: 0,
      client_name: 'Photo Frame',
      client_uri: 'https://frame.example/',
      redirect_uris: ['https://frame.example/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'photos:read documents:read',
      require_pushed_authorization_requests: false,
      dpop_bound_access_tokens: false,
    },
    'unknown fields are ignored (RFC 7591 §2)',
  );
  const row = await app.prisma.client.findUniqueOrThrow({ where: { id: body.client_id } });
  t.match(row, {
    registration: 'dynamic',
    tokenEndpointAuthMethod: 'client_secret_basic',
    secretHash: hashClientSecret(body.client_secret),
    registrationAccessTokenHash: hashClientSecret(body.registration_access_token),
    name: 'Photo Frame',
  });
});

t.test('require_pushed_authorization_requests and dpop_bound_access_tokens (RFC 9126 §6, RFC 9449 §5.2)', async (t) => {
  const strict = await registered(t, {
    ...WEB,
    require_pushed_authorization_requests: true,
    dpop_bound_access_tokens: true,
  });
  t.match(strict, { require_pushed_authorization_requests: true, dpop_bound_access_tokens: true });
  t.match(await app.clients.findById(strict.client_id), {
    requirePushedAuthorizationRequests: true,
    dpopBoundAccessTokens: true,
  });
  // RFC 7592 §2.2: an update that omits them clears them (false, their default).
  const updated = await manage('PUT', strict.client_id, strict.registration_access_token, {
    ...WEB,
    client_id: strict.client_id,
  });
  t.match(updated.json(), { require_pushed_authorization_requests: false, dpop_bound_access_tokens: false });
  expectAnswer(t, await register({ ...WEB, require_pushed_authorization_requests: 'yes' }), 400, {
    error: 'invalid_client_metadata',
    error_description: 'require_pushed_authorization_requests must be true or false.',
  });
  expectAnswer(t, await register({ ...WEB, dpop_bound_access_tokens: 'true' }), 400, {
    error: 'invalid_client_metadata',
    error_description: 'dpop_bound_access_tokens must be true or false.',
  });
});

t.test('consent names the client as not verified and the host it returns to; its method is enforced', async (t) => {
  const client = await registered(t);
  const { consentPage, code, verifier } = await authorizeFor(client.client_id, 'https://frame.example/cb');
  t.match(consentPage.body, /Photo Frame/);
  t.match(consentPage.body, /not verified by this server/);
  t.match(consentPage.body, /Allow it only if you trust <strong>frame\.example<\/strong>/);
  const form = {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: 'https://frame.example/cb',
  };
  // Registered for client_secret_basic (the RFC 7591 default): the same secret in the body is refused.
  const posted = await tokenRequest(app, {
    ...form,
    client_id: client.client_id,
    client_secret: client.client_secret!,
  });
  expectAnswer(t, posted, 401, {
    error: 'invalid_client',
    error_description: 'This client is registered to authenticate with client_secret_basic.',
  });
  const res = await tokenRequest(app, form, { basic: [client.client_id, client.client_secret!] });
  t.equal(res.statusCode, 200, res.body);
  t.ok(res.json().refresh_token);
});

t.test('an operator client: no "not verified" note', async (t) => {
  const browser = new Browser(app);
  const consentUrl = location(await login(browser, location(await browser.get(authorizeUrl({ state: 'x' }))).href));
  const page = await browser.get(consentUrl.pathname + consentUrl.search);
  t.match(page.body, /Quartet Photo Printer/);
  t.notMatch(page.body, /not verified/);
});

t.test('a device client: public, no redirect URI (RFC 8628)', async (t) => {
  const client = await registered(t, {
    client_name: 'Photo TV',
    grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
    token_endpoint_auth_method: 'none',
    scope: 'photos:read',
  });
  t.notOk('client_secret' in client);
  t.notOk('client_secret_expires_at' in client);
  t.same(client.redirect_uris, []);
  t.same(client.response_types, []);
  t.equal(client.token_endpoint_auth_method, 'none');
});

const refusals: [string, unknown, Record<string, string>, number, Json][] = [
  [
    'a redirect URI with a fragment (RFC 7591 §3.2.2 invalid_redirect_uri)',
    { ...WEB, redirect_uris: ['https://frame.example/cb#x'] },
    {},
    400,
    {
      error: 'invalid_redirect_uri',
      error_description: "The redirect URI 'https://frame.example/cb#x' must not contain a fragment (#).",
    },
  ],
  [
    'client_credentials without the initial access token',
    { grant_types: ['client_credentials'] },
    {},
    400,
    {
      error: 'invalid_client_metadata',
      error_description: 'client_credentials may only be registered with an initial access token.',
    },
  ],
  [
    'a scope the server does not know',
    { ...WEB, scope: 'photos:read admin' },
    {},
    400,
    { error: 'invalid_client_metadata', error_description: 'Scope not supported: admin.' },
  ],
  [
    'private_key_jwt without keys (RFC 7523 §2.2)',
    { ...WEB, token_endpoint_auth_method: 'private_key_jwt' },
    {},
    400,
    {
      error: 'invalid_client_metadata',
      error_description: "private_key_jwt needs the client's public keys: jwks or jwks_uri.",
    },
  ],
  [
    'jwks and jwks_uri both (RFC 7591 §2)',
    { ...WEB, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [] }, jwks_uri: 'https://f.example/k' },
    {},
    400,
    {
      error: 'invalid_client_metadata',
      error_description: 'jwks and jwks_uri must not both be present (RFC 7591 section 2).',
    },
  ],
  [
    'a JSON array',
    [WEB],
    {},
    400,
    { error: 'invalid_client_metadata', error_description: 'The registration request must be a JSON object.' },
  ],
  [
    'a wrong initial access token (RFC 6750 §3.1)',
    WEB,
    { authorization: 'Bearer not-the-token' },
    401,
    { error: 'invalid_token', error_description: 'The Bearer token is invalid.' },
  ],
];
for (const [name, payload, headers, status, body] of refusals) {
  t.test(`refused: ${name}`, async (t) => {
    const before = await app.prisma.client.count();
    const res = await register(payload, headers);
    expectAnswer(t, res, status, body);
    t.equal(res.headers['cache-control'], 'no-store');
    if (status === 401) t.equal(res.headers['www-authenticate'], 'Bearer realm="quartet", error="invalid_token"');
    t.equal(await app.prisma.client.count(), before, 'nothing stored');
  });
}

t.test('with the initial access token, client_credentials may be registered and used', async (t) => {
  const client = await registered(
    t,
    { client_name: 'Nightly Backup', grant_types: ['client_credentials'], scope: 'photos:read' },
    { authorization: `Bearer ${INITIAL_TOKEN}` },
  );
  const res = await tokenRequest(
    app,
    { grant_type: 'client_credentials' },
    { basic: [client.client_id, client.client_secret!] },
  );
  t.equal(res.statusCode, 200, res.body);
  // After a delete it gets no more tokens, though this instance had its record cached.
  t.equal((await manage('DELETE', client.client_id, client.registration_access_token)).statusCode, 204);
  expectError(
    t,
    await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: [client.client_id, client.client_secret!] }),
    401,
    'invalid_client',
  );
});

t.test('RFC 7592 read: everything but the secret, with the token presented', async (t) => {
  const client = await registered(t);
  const res = await manage('GET', client.client_id, client.registration_access_token);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  const { client_secret: secret, ...rest } = client;
  t.ok(secret);
  t.same(res.json(), rest, 'the same answer as the registration, without client_secret (stored hashed)');
});

t.test('RFC 7592: a missing, wrong or foreign registration access token is 401 invalid_token', async (t) => {
  const a = await registered(t);
  const b = await registered(t);
  const missing = await manage('GET', a.client_id);
  expectAnswer(t, missing, 401, { error: 'invalid_token', error_description: 'A Bearer token is required.' });
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="quartet"');
  const wrong = { error: 'invalid_token', error_description: 'The Bearer token is invalid.' };
  for (const [clientId, token] of [
    [a.client_id, 'x'],
    [a.client_id, b.registration_access_token],
    ['demo-client', a.registration_access_token],
    ['no-such-client', a.registration_access_token],
  ] as const) {
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const res = await manage(method, clientId, token, method === 'PUT' ? { ...WEB, client_id: clientId } : undefined);
      expectAnswer(t, res, 401, wrong);
      t.equal(res.headers['www-authenticate'], 'Bearer realm="quartet", error="invalid_token"');
    }
  }
  t.ok(await app.prisma.client.findUnique({ where: { id: a.client_id } }), 'nothing deleted');
  t.ok(await app.prisma.client.findUnique({ where: { id: 'demo-client' } }), 'operator clients cannot be managed');
});

t.test('RFC 7592 update: replaces the registration, applies at once, keeps or issues the secret', async (t) => {
  const client = await registered(t);
  const token = client.registration_access_token;
  await app.clients.findById(client.client_id); // cached on this instance
  expectAnswer(t, await manage('PUT', client.client_id, token, { ...WEB }), 400, {
    error: 'invalid_client_metadata',
    error_description: "client_id must be present and equal this client's client_id.",
  });
  expectAnswer(
    t,
    await manage('PUT', client.client_id, token, { ...WEB, client_id: client.client_id, client_secret: 'old' }),
    400,
    {
      error: 'invalid_client_metadata',
      error_description: "client_secret, when sent, must be this client's current secret.",
    },
  );
  expectAnswer(
    t,
    await manage('PUT', client.client_id, token, { client_id: client.client_id, grant_types: ['client_credentials'] }),
    400,
    {
      error: 'invalid_client_metadata',
      error_description: 'client_credentials may only be registered with an initial access token.',
    },
  );

  const update = {
    client_id: client.client_id,
    client_secret: client.client_secret,
    client_name: 'Photo Frame 2',
    redirect_uris: ['https://frame.example/new'],
    token_endpoint_auth_method: 'client_secret_post',
    scope: 'photos:read',
  };
  const res = await manage('PUT', client.client_id, token, update);
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), {
    client_name: 'Photo Frame 2',
    redirect_uris: ['https://frame.example/new'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
    registration_access_token: token,
  });
  t.notOk('client_secret' in res.json(), 'the secret is kept, not sent again');
  t.notOk('client_uri' in res.json(), 'omitted fields are cleared (RFC 7592 §2.2)');
  t.match(await app.clients.findById(client.client_id), {
    name: 'Photo Frame 2',
    tokenEndpointAuthMethod: 'client_secret_post',
  });
  // The old redirect URI is gone at once: an error page, never a redirect.
  const old = await new Browser(app).get(
    authorizeUrl({ client_id: client.client_id, redirect_uri: 'https://frame.example/cb' }),
  );
  t.equal(old.statusCode, 400);

  const toPublic = await manage('PUT', client.client_id, token, {
    ...update,
    client_secret: undefined,
    token_endpoint_auth_method: 'none',
  });
  t.equal(toPublic.statusCode, 200);
  t.equal((await app.prisma.client.findUniqueOrThrow({ where: { id: client.client_id } })).secretHash, null);
  const back = await manage('PUT', client.client_id, token, { ...update, client_secret: undefined });
  t.match(back.json(), { client_secret: /^[A-Za-z0-9_-]{43}$/, client_secret_expires_at: 0 }, 'a new secret, once');
  t.equal(
    (await app.prisma.client.findUniqueOrThrow({ where: { id: client.client_id } })).secretHash,
    hashClientSecret(back.json().client_secret),
  );
});

t.test('a private_key_jwt client (RFC 7523): keys instead of a secret, read back, replaced, used', async (t) => {
  const key = await clientKey('ES256', 'k1');
  const jwks = { keys: [key.jwk] };
  const client = await registered(
    t,
    {
      client_name: 'Key Backup',
      grant_types: ['client_credentials'],
      scope: 'photos:read',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks,
    },
    { authorization: `Bearer ${INITIAL_TOKEN}` },
  );
  t.match(client, { token_endpoint_auth_method: 'private_key_jwt', jwks });
  for (const absent of ['client_secret', 'client_secret_expires_at', 'jwks_uri']) t.notOk(absent in client, absent);
  t.match(await app.prisma.client.findUniqueOrThrow({ where: { id: client.client_id } }), {
    secretHash: null,
    jwks,
    jwksUri: null,
  });
  const token = client.registration_access_token;
  const withAssertion = async () =>
    tokenRequest(app, {
      grant_type: 'client_credentials',
      ...assertionForm(await clientAssertion(key, client.client_id, config.ISSUER)),
    });
  t.equal((await withAssertion()).statusCode, 200, 'client_credentials with private_key_jwt');
  const read = await manage('GET', client.client_id, token);
  t.same(read.json(), client, 'RFC 7592 read: the keys as registered');

  const base = { client_id: client.client_id, grant_types: ['client_credentials'], scope: 'photos:read' };
  const byUri = await manage('PUT', client.client_id, token, {
    ...base,
    token_endpoint_auth_method: 'private_key_jwt',
    jwks_uri: 'https://backup.example/jwks.json',
  });
  t.equal(byUri.statusCode, 200, byUri.body);
  t.match(byUri.json(), { jwks_uri: 'https://backup.example/jwks.json' });
  t.notOk('jwks' in byUri.json());

  // To a secret: one is issued (once), the keys are dropped and no longer authenticate.
  const toSecret = await manage('PUT', client.client_id, token, {
    ...base,
    token_endpoint_auth_method: 'client_secret_basic',
  });
  t.match(toSecret.json(), { client_secret: /^[A-Za-z0-9_-]{43}$/, token_endpoint_auth_method: 'client_secret_basic' });
  t.match(await app.prisma.client.findUniqueOrThrow({ where: { id: client.client_id } }), {
    jwks: null,
    jwksUri: null,
  });
  expectError(t, await withAssertion(), 401, 'invalid_client', /^Client authentication failed\.$/);
  // And back: the secret is dropped, the keys work again.
  const back = await manage('PUT', client.client_id, token, {
    ...base,
    client_secret: toSecret.json().client_secret,
    token_endpoint_auth_method: 'private_key_jwt',
    jwks,
  });
  t.equal(back.statusCode, 200, back.body);
  t.notOk('client_secret' in back.json());
  t.equal((await app.prisma.client.findUniqueOrThrow({ where: { id: client.client_id } })).secretHash, null);
  expectError(
    t,
    await tokenRequest(
      app,
      { grant_type: 'client_credentials' },
      { basic: [client.client_id, toSecret.json().client_secret] },
    ),
    401,
    'invalid_client',
  );
  t.equal((await withAssertion()).statusCode, 200);
});

t.test('RFC 7592 delete: 204, grants and refresh tokens gone, no token afterwards', async (t) => {
  const client = await registered(t);
  const { code, verifier } = await authorizeFor(client.client_id, 'https://frame.example/cb');
  const basic: [string, string] = [client.client_id, client.client_secret!];
  const issued = await tokenRequest(
    app,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: 'https://frame.example/cb' },
    { basic },
  );
  const refreshToken = issued.json().refresh_token as string;
  t.ok(refreshToken);
  const res = await manage('DELETE', client.client_id, client.registration_access_token);
  t.equal(res.statusCode, 204);
  t.equal(res.body, '');
  t.equal(await app.prisma.grant.count({ where: { clientId: client.client_id } }), 0, 'grants deleted with it');
  t.equal(await app.prisma.consent.count({ where: { clientId: client.client_id } }), 0, 'consents too');
  expectError(
    t,
    await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: refreshToken }, { basic }),
    401,
    'invalid_client',
  );
  expectAnswer(t, await manage('GET', client.client_id, client.registration_access_token), 401, {
    error: 'invalid_token',
    error_description: 'The Bearer token is invalid.',
  });
  const page = await new Browser(app).get(
    authorizeUrl({ client_id: client.client_id, redirect_uri: 'https://frame.example/cb' }),
  );
  t.equal(page.statusCode, 400, 'the browser gets an error page, not a redirect');
});

t.test('deleted by another instance while this one still caches it: its code gives no token', async (t) => {
  const client = await registered(t);
  const { code, verifier } = await authorizeFor(client.client_id, 'https://frame.example/cb');
  // Another instance served the delete: this one's cached record (CLIENT_CACHE_TTL) still authenticates it.
  await app.prisma.client.delete({ where: { id: client.client_id } });
  expectError(
    t,
    await tokenRequest(
      app,
      { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: 'https://frame.example/cb' },
      { basic: [client.client_id, client.client_secret!] },
    ),
    401,
    'invalid_client',
    /^The client is no longer registered\.$/,
  );
  t.equal(await app.prisma.grant.count({ where: { clientId: client.client_id } }), 0, 'no grant written');
});

t.test('deleted by another instance: its client_credentials get no token here either', async (t) => {
  const client = await registered(
    t,
    { client_name: 'Nightly Backup', grant_types: ['client_credentials'], scope: 'photos:read' },
    { authorization: `Bearer ${INITIAL_TOKEN}` },
  );
  const basic: [string, string] = [client.client_id, client.client_secret!];
  const form = { grant_type: 'client_credentials', scope: 'photos:read' };
  t.equal((await tokenRequest(app, form, { basic })).statusCode, 200, 'cached here from this first use');
  await app.prisma.client.delete({ where: { id: client.client_id } });
  expectError(
    t,
    await tokenRequest(app, form, { basic }),
    401,
    'invalid_client',
    /^The client is no longer registered\.$/,
  );
});

t.test('self-registered clients are capped (503 + Retry-After)', async (t) => {
  const present = await app.prisma.client.count({ where: { registration: 'dynamic' } });
  const ids = Array.from({ length: MAX_DYNAMIC_CLIENTS - present }, () => `filler-${randomUUID()}`);
  await app.prisma.client.createMany({
    data: ids.map((id) => ({
      id,
      name: id,
      redirectUris: [],
      allowedScopes: [],
      grantTypes: [],
      registration: 'dynamic',
    })),
  });
  t.teardown(() => app.prisma.client.deleteMany({ where: { id: { in: ids } } }));
  const res = await register(WEB);
  expectAnswer(t, res, 503, {
    error: 'temporarily_unavailable',
    error_description: 'No more clients can be registered at the moment.',
  });
  t.equal(res.headers['retry-after'], '3600');
});

t.test('registration is throttled per address (RATE_LIMIT_REGISTRATION an hour)', async (t) => {
  const address = '203.0.113.7';
  for (let i = 0; i < RATE_LIMIT; i++) t.not((await register({}, {}, address)).statusCode, 429);
  const res = await register(WEB, {}, address);
  t.equal(res.statusCode, 429);
  t.equal(res.json().error, 'temporarily_unavailable');
  t.match(res.json().error_description, /^Too many client registrations from this network; try again in 1 hour\.$/);
  t.ok(Number(res.headers['retry-after']) > 0);
  t.equal((await register(WEB, {}, '198.51.100.1')).statusCode, 201, 'another address is not affected');
});

t.test('with CLIENT_REGISTRATION=token the initial access token is required (RFC 7591 §3)', async (t) => {
  const { app: closed } = await buildTestApp(t, {
    CLIENT_REGISTRATION: 'token',
    CLIENT_REGISTRATION_TOKEN: INITIAL_TOKEN,
  });
  const post = (headers: Record<string, string>) =>
    closed.inject({ method: 'POST', url: '/oauth/register', payload: WEB, headers });
  const missing = await post({});
  expectAnswer(t, missing, 401, { error: 'invalid_token', error_description: 'A Bearer token is required.' });
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="quartet"');
  expectAnswer(t, await post({ authorization: `Bearer ${INITIAL_TOKEN}x` }), 401, {
    error: 'invalid_token',
    error_description: 'The Bearer token is invalid.',
  });
  t.equal((await post({ authorization: `Bearer ${INITIAL_TOKEN}` })).statusCode, 201);
});
