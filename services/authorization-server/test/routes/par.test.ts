// Pushed authorization requests (RFC 9126) over HTTP: POST /oauth/par authenticates the client as the token endpoint
// does, validates the pushed parameters as /authorize does and answers every refusal as JSON (§2.3); the
// request_uri it returns works once, briefly, and for its client only, at /authorize (§4), which then uses the
// pushed parameters alone. A DPoP proof or dpop_jkt on the push binds the code (RFC 9449 §10.1). PAR required by
// the server (§5) or the client (§6) refuses a plain request with invalid_request by redirect. Each rule: the bad
// request and the exact answer.
import t, { type Test } from 'tap';
import type { App } from '../../src/app.js';
import { buildTestApp } from '../helper.js';
import {
  Browser,
  CLI_REDIRECT,
  DEMO_REDIRECT,
  authorizeUrl,
  decide,
  location,
  login,
  pkcePair,
  tokenRequest,
} from '../browser.js';
import { dpopKey, dpopProof, type DpopKey } from '../dpop-fixtures.js';

const { app, config } = await buildTestApp(t);
const DEMO: [string, string] = ['demo-client', config.DEMO_CLIENT_SECRET];
const PAR_HTU = `${config.ISSUER}/oauth/par`;
const TOKEN_HTU = `${config.ISSUER}/oauth/token`;
const URN = /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/;
const key = await dpopKey();

type Form = Record<string, string | string[] | undefined>;
interface PushOptions {
  basic?: [string, string] | null;
  headers?: Record<string, string>;
  remoteAddress?: string;
}

/** The authorization request demo-client pushes by default (`undefined` removes a parameter). */
function pushForm(overrides: Form = {}, challenge = pkcePair().challenge): Form {
  return {
    response_type: 'code',
    client_id: 'demo-client',
    redirect_uri: DEMO_REDIRECT,
    scope: 'photos:read',
    state: 'st-par',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
}

/** POST /oauth/par with a form body, as demo-client (client_secret_basic) unless told otherwise. */
function push(target: App, form: Form, options: PushOptions = {}) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(form))
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) body.append(name, v);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...options.headers };
  const basic = options.basic === undefined ? [DEMO[0], target.config.DEMO_CLIENT_SECRET] : options.basic;
  if (basic) headers.authorization = `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64')}`;
  return target.inject({
    method: 'POST',
    url: '/oauth/par',
    headers,
    payload: body.toString(),
    ...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
  });
}

const authorizeWith = (requestUri: string, clientId = 'demo-client', extra = '') =>
  `/authorize?client_id=${encodeURIComponent(clientId)}&request_uri=${encodeURIComponent(requestUri)}${extra}`;

/** alice's browser from `url` through login and consent (approved) back to the client: the final redirect. */
async function walk(browser: Browser, url: string): Promise<URL> {
  let next = location(await browser.get(url));
  if (next.pathname === '/interaction/login') next = location(await login(browser, next.pathname + next.search));
  if (next.pathname === '/interaction/consent')
    next = location(await decide(browser, next.pathname + next.search, 'approve'));
  return next;
}

const alice = new Browser(app);

/** demo-client pushes (with `options`), alice approves: the code and its verifier. */
async function pushedCode(form: Form = {}, options: PushOptions = {}, target = app, browser = alice) {
  const { verifier, challenge } = pkcePair();
  const pushed = await push(target, pushForm(form, challenge), options);
  if (pushed.statusCode !== 201) throw new Error(`push refused: ${pushed.body}`);
  const redirect = await walk(browser, authorizeWith(pushed.json().request_uri));
  const code = redirect.searchParams.get('code');
  if (!code) throw new Error(`no code in ${redirect.href}`);
  return { code, verifier, redirect };
}

/** demo-client redeems a code, with a proof of `proofKey` when given. */
async function redeem(code: string, verifier: string, proofKey?: DpopKey, target = app) {
  const htu = `${target.config.ISSUER}/oauth/token`;
  return tokenRequest(
    target,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT },
    {
      basic: [DEMO[0], target.config.DEMO_CLIENT_SECRET],
      ...(proofKey ? { headers: { dpop: await dpopProof(proofKey, htu) } } : {}),
    },
  );
}

/** An answer: status, the JSON body exactly, no-store, and the headers given. */
function expectAnswer(
  t: Test,
  res: Awaited<ReturnType<typeof push>>,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  t.equal(res.statusCode, status, `status ${status}`);
  t.same(res.json(), body);
  t.equal(res.headers['cache-control'], 'no-store');
  for (const [name, value] of Object.entries(headers)) t.equal(res.headers[name], value, name);
}

/** An error page (400), never a redirect (RFC 6749 §4.1.2.1). */
async function expectPage(t: Test, url: string, detail: string, target = app) {
  const res = await target.inject({ method: 'GET', url });
  t.equal(res.statusCode, 400);
  t.notOk(res.headers.location, 'never redirects');
  t.match(res.headers['content-type'], /text\/html/);
  t.match(res.body, detail);
}

t.test('metadata: the PAR endpoint, PAR not required by default (RFC 9126 §5)', async (t) => {
  const meta = (await app.inject('/.well-known/oauth-authorization-server')).json();
  t.equal(meta.pushed_authorization_request_endpoint, `${config.ISSUER}/oauth/par`);
  t.equal(meta.require_pushed_authorization_requests, false);
});

t.test('a confidential client pushes; the browser brings client_id and request_uri; the code works', async (t) => {
  const { verifier, challenge } = pkcePair();
  const res = await push(app, pushForm({}, challenge));
  t.equal(res.statusCode, 201, 'RFC 9126 §2.2: 201 Created');
  t.equal(res.headers['cache-control'], 'no-store');
  t.same(Object.keys(res.json()).sort(), ['expires_in', 'request_uri']);
  t.match(res.json(), { request_uri: URN, expires_in: 60 });
  const requestUri = res.json().request_uri as string;

  // RFC 9126 §4, RFC 9101 §6.3: only the pushed parameters count, whatever else the URL says.
  const extra = `&scope=documents:write&state=evil&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`;
  const redirect = await walk(new Browser(app), authorizeWith(requestUri, 'demo-client', extra));
  t.equal(`${redirect.origin}${redirect.pathname}`, DEMO_REDIRECT);
  t.equal(redirect.searchParams.get('state'), 'st-par', 'the pushed state');
  t.equal(redirect.searchParams.get('iss'), config.ISSUER);
  const tokens = await redeem(redirect.searchParams.get('code')!, verifier);
  t.equal(tokens.statusCode, 200, tokens.body);
  t.equal(tokens.json().scope, 'photos:read', 'the pushed scope');
  t.equal(tokens.json().token_type, 'Bearer');

  // RFC 9126 §4: single use.
  await expectPage(
    t,
    authorizeWith(requestUri),
    'The request_uri is unknown, has expired or was already used. Go back to the application and start again.',
  );
});

t.test('a public client pushes with its client_id alone (RFC 9126 §2: none, as at the token endpoint)', async (t) => {
  const res = await push(app, pushForm({ client_id: 'workshop-cli', redirect_uri: CLI_REDIRECT }), { basic: null });
  t.equal(res.statusCode, 201, res.body);
  const next = await app.inject({ method: 'GET', url: authorizeWith(res.json().request_uri, 'workshop-cli') });
  t.equal(next.statusCode, 303);
  t.equal(location(next).pathname, '/interaction/login');
});

t.test('at /authorize a request_uri is refused with a page, never a redirect (RFC 9126 §4)', async (t) => {
  const pushed = (await push(app, pushForm())).json().request_uri as string;
  await expectPage(t, authorizeWith(pushed, 'workshop-cli'), 'The request_uri was pushed by another client.');
  await expectPage(
    t,
    authorizeWith(pushed),
    'The request_uri is unknown, has expired or was already used.',
    // A request_uri used with the wrong client_id is spent all the same: it was exposed.
  );
  const notOurs =
    'The request_uri is not one this server issued (it issues urn:ietf:params:oauth:request_uri: values at its pushed authorization request endpoint).';
  await expectPage(t, authorizeWith('https://client.example/request.jwt'), notOurs);
  await expectPage(t, authorizeWith(''), notOurs);
  await expectPage(t, authorizeWith(`urn:ietf:params:oauth:request_uri:${'A'.repeat(43)}`), 'unknown, has expired');
  await expectPage(
    t,
    `${authorizeWith(pushed)}&request_uri=${encodeURIComponent(pushed)}`,
    'The request_uri parameter appears more than once.',
  );
  await expectPage(t, authorizeWith(pushed, 'nobody'), 'The application that sent you here is not registered.');
  await expectPage(t, `/authorize?request_uri=${encodeURIComponent(pushed)}`, 'client_id is missing');
});

const invalidRequest = (description: string) => ({ error: 'invalid_request', error_description: description });
const other = await dpopKey();

/** Every refusal of the PAR endpoint: JSON in the token endpoint's form (RFC 9126 §2.3), no-store. */
const refusals: [string, () => Promise<Form>, PushOptions, number, Record<string, string>, Record<string, string>?][] =
  [
    [
      'no client authentication',
      async () => pushForm({ client_id: undefined }),
      { basic: null },
      401,
      { error: 'invalid_client', error_description: 'Client authentication failed.' },
    ],
    [
      'a wrong secret (client_secret_basic)',
      async () => pushForm(),
      { basic: ['demo-client', 'wrong'] },
      401,
      { error: 'invalid_client', error_description: 'Client authentication failed.' },
      { 'www-authenticate': 'Basic realm="quartet"' },
    ],
    [
      'a confidential client without its secret',
      async () => pushForm(),
      { basic: null },
      401,
      { error: 'invalid_client', error_description: 'Client authentication failed.' },
    ],
    [
      'a client_id other than the authenticated client (RFC 9126 §2.1)',
      async () => pushForm({ client_id: 'workshop-cli' }),
      {},
      400,
      invalidRequest('client_id in the body differs from the authenticated client.'),
    ],
    [
      'a repeated parameter (RFC 6749 §3.1)',
      async () => pushForm({ scope: ['photos:read', 'documents:read'] }),
      {},
      400,
      invalidRequest('Parameter repeated: scope.'),
    ],
    [
      'a request_uri inside the pushed request (RFC 9126 §2.1)',
      async () => pushForm({ request_uri: `urn:ietf:params:oauth:request_uri:${'A'.repeat(43)}` }),
      {},
      400,
      invalidRequest('request_uri must not be sent to the pushed authorization request endpoint.'),
    ],
    [
      'a request object (RFC 9101 §7)',
      async () => pushForm({ request: 'eyJhbGciOiJub25lIn0.e30.' }),
      {},
      400,
      {
        error: 'request_not_supported',
        error_description: 'Request objects (the request parameter, RFC 9101) are not supported.',
      },
    ],
    [
      'an unregistered redirect_uri: invalid_request (RFC 9126 §2.3)',
      async () => pushForm({ redirect_uri: 'https://evil.example/cb' }),
      {},
      400,
      invalidRequest('The redirect_uri is not registered for this client.'),
    ],
    [
      'no response_type',
      async () => pushForm({ response_type: undefined }),
      {},
      400,
      invalidRequest('response_type is required.'),
    ],
    [
      'response_type token',
      async () => pushForm({ response_type: 'token' }),
      {},
      400,
      { error: 'unsupported_response_type', error_description: 'Only response_type=code is supported.' },
    ],
    [
      'no code_challenge (RFC 7636 §4.3)',
      async () => pushForm({ code_challenge: undefined }),
      {},
      400,
      invalidRequest('code_challenge is required (PKCE).'),
    ],
    [
      'plain PKCE',
      async () => pushForm({ code_challenge_method: 'plain' }),
      {},
      400,
      invalidRequest('Only code_challenge_method=S256 is supported.'),
    ],
    [
      'a scope the client may not have',
      async () => pushForm({ scope: 'photos:read admin' }),
      {},
      400,
      { error: 'invalid_scope', error_description: 'Scope not allowed for this client: admin.' },
    ],
    [
      'an unknown resource (RFC 8707)',
      async () => pushForm({ resource: 'https://elsewhere.example' }),
      {},
      400,
      { error: 'invalid_target', error_description: 'Unknown resource: https://elsewhere.example.' },
    ],
    [
      'a malformed dpop_jkt (RFC 9449 §10)',
      async () => pushForm({ dpop_jkt: 'not-a-thumbprint' }),
      {},
      400,
      invalidRequest(
        'dpop_jkt must be the SHA-256 JWK thumbprint (RFC 7638) of the DPoP key: 43 characters of base64url.',
      ),
    ],
    [
      "dpop_jkt naming another key than the proof's (RFC 9449 §10.1)",
      async () => pushForm({ dpop_jkt: other.jkt }),
      { headers: { dpop: await dpopProof(key, PAR_HTU) } },
      400,
      invalidRequest("dpop_jkt does not match the key of the request's DPoP proof."),
    ],
    [
      'a DPoP proof made for the token endpoint (RFC 9449 §4.3)',
      async () => pushForm(),
      { headers: { dpop: await dpopProof(key, TOKEN_HTU) } },
      400,
      { error: 'invalid_dpop_proof', error_description: "The DPoP proof's htu does not match this request's URL." },
    ],
  ];

for (const [name, form, options, status, body, headers] of refusals) {
  t.test(`${name} -> ${status} ${body.error}`, async (t) => {
    expectAnswer(t, await push(app, await form(), options), status, body, headers);
  });
}

t.test('a body that is not a form, or too large, or another method than POST (RFC 9126 §2.3)', async (t) => {
  const json = await app.inject({
    method: 'POST',
    url: '/oauth/par',
    headers: { authorization: `Basic ${Buffer.from(DEMO.join(':')).toString('base64')}` },
    payload: { response_type: 'code' },
  });
  expectAnswer(t, json, 400, invalidRequest('The token request must be sent as application/x-www-form-urlencoded.'));
  const large = await push(app, pushForm({ state: 'x'.repeat(20000) }));
  t.equal(large.statusCode, 413, '413 Payload Too Large');
  for (const method of ['GET', 'PUT', 'DELETE'] as const) {
    const res = await app.inject({ method, url: '/oauth/par' });
    expectAnswer(t, res, 405, invalidRequest('The pushed authorization request endpoint takes POST only.'), {
      allow: 'POST',
    });
  }
});

t.test('a DPoP proof at the push binds the code to its key (RFC 9449 §10.1)', async (t) => {
  const withProof = async () => pushedCode({}, { headers: { dpop: await dpopProof(key, PAR_HTU) } });
  const ok = await withProof();
  const tokens = await redeem(ok.code, ok.verifier, key);
  t.equal(tokens.statusCode, 200, tokens.body);
  t.equal(tokens.json().token_type, 'DPoP');

  const stolen = await withProof();
  expectAnswer(t, await redeem(stolen.code, stolen.verifier, other), 400, {
    error: 'invalid_grant',
    error_description: 'The authorization code is bound to another DPoP key (dpop_jkt).',
  });
  const bare = await withProof();
  expectAnswer(t, await redeem(bare.code, bare.verifier), 400, {
    error: 'invalid_grant',
    error_description:
      'The authorization code is bound to a DPoP key (dpop_jkt): redeem it with a DPoP proof of that key.',
  });
  // A refusal after the claim spends the code, as every one does (RFC 6749 §4.1.2): its client coming back with
  // the right verifier is a replay.
  expectAnswer(t, await redeem(bare.code, bare.verifier, key), 400, {
    error: 'invalid_grant',
    error_description: 'The authorization code was already used; the tokens issued from it have been revoked.',
  });
});

t.test('dpop_jkt at the push, alone or with a proof of the same key, binds the code too', async (t) => {
  const byJkt = await pushedCode({ dpop_jkt: key.jkt });
  expectAnswer(t, await redeem(byJkt.code, byJkt.verifier, other), 400, {
    error: 'invalid_grant',
    error_description: 'The authorization code is bound to another DPoP key (dpop_jkt).',
  });
  const both = await pushedCode({ dpop_jkt: key.jkt }, { headers: { dpop: await dpopProof(key, PAR_HTU) } });
  t.equal((await redeem(both.code, both.verifier, key)).statusCode, 200);
  const proof = await dpopProof(key, PAR_HTU);
  t.equal((await push(app, pushForm(), { headers: { dpop: proof } })).statusCode, 201);
  expectAnswer(t, await push(app, pushForm(), { headers: { dpop: proof } }), 400, {
    error: 'invalid_dpop_proof',
    error_description: 'This DPoP proof was already used; make a new one for each request.',
  });
});

t.test("the client's registration changed since the push: checked again at /authorize (RFC 9126 §4)", async (t) => {
  const cli = { client_id: 'workshop-cli', redirect_uri: CLI_REDIRECT };
  const pushCli = async () =>
    (await push(app, pushForm({ ...cli, scope: 'photos:read' }), { basic: null })).json().request_uri as string;
  const { redirectUris, allowedScopes } = await app.prisma.client.findUniqueOrThrow({ where: { id: 'workshop-cli' } });
  t.teardown(() => app.prisma.client.update({ where: { id: 'workshop-cli' }, data: { redirectUris, allowedScopes } }));
  const narrowed = await pushCli();
  const moved = await pushCli();
  await app.prisma.client.update({ where: { id: 'workshop-cli' }, data: { allowedScopes: ['photos:write'] } });
  const res = await app.inject({ method: 'GET', url: authorizeWith(narrowed, 'workshop-cli') });
  t.equal(res.statusCode, 303);
  const back = location(res);
  t.equal(`${back.origin}${back.pathname}`, CLI_REDIRECT);
  t.same(Object.fromEntries(back.searchParams), {
    error: 'invalid_scope',
    error_description: 'Scope not allowed for this client: photos:read.',
    state: 'st-par',
    iss: config.ISSUER,
  });
  await app.prisma.client.update({
    where: { id: 'workshop-cli' },
    data: { redirectUris: ['http://127.0.0.1:8765/elsewhere'] },
  });
  await expectPage(
    t,
    authorizeWith(moved, 'workshop-cli'),
    'The redirect_uri of the pushed request is no longer registered for this client.',
  );
});

t.test('PAR required by the client registration (RFC 9126 §6): a plain request is invalid_request', async (t) => {
  await app.prisma.client.update({ where: { id: 'demo-client' }, data: { requirePushedAuthorizationRequests: true } });
  t.teardown(() =>
    app.prisma.client.update({ where: { id: 'demo-client' }, data: { requirePushedAuthorizationRequests: false } }),
  );
  const res = await app.inject({ method: 'GET', url: authorizeUrl() });
  t.equal(res.statusCode, 303, 'the client and redirect URI are verified: the answer goes back to the client');
  const back = location(res);
  t.equal(`${back.origin}${back.pathname}`, DEMO_REDIRECT);
  t.same(Object.fromEntries(back.searchParams), {
    error: 'invalid_request',
    error_description:
      'This client must push its authorization requests to the pushed authorization request endpoint (RFC 9126).',
    state: 'st-123',
    iss: config.ISSUER,
  });
  await expectPage(
    t,
    authorizeUrl({ redirect_uri: 'https://evil.example/cb' }),
    'The redirect_uri is not registered for this client.',
  );
  const other = await app.inject({
    method: 'GET',
    url: authorizeUrl({ client_id: 'workshop-cli', redirect_uri: CLI_REDIRECT }),
  });
  t.equal(location(other).pathname, '/interaction/login', 'other clients are not affected');
  const { code, verifier } = await pushedCode();
  t.equal((await redeem(code, verifier)).statusCode, 200, 'pushed, it works');
});

t.test('REQUIRE_PUSHED_AUTHORIZATION_REQUESTS and DPOP_NONCE_REQUIRED (RFC 9126 §5, RFC 9449 §8)', async (t) => {
  const { app: strict, config: strictConfig } = await buildTestApp(t, {
    REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: 'true',
    DPOP_NONCE_REQUIRED: 'true',
  });
  const htu = `${strictConfig.ISSUER}/oauth/par`;
  const meta = (await strict.inject('/.well-known/oauth-authorization-server')).json();
  t.equal(meta.require_pushed_authorization_requests, true);

  const plain = location(await strict.inject({ method: 'GET', url: authorizeUrl() }));
  t.same(Object.fromEntries(plain.searchParams), {
    error: 'invalid_request',
    error_description:
      'This server accepts authorization requests only through its pushed authorization request endpoint (RFC 9126).',
    state: 'st-123',
    iss: strictConfig.ISSUER,
  });

  // A push without a proof needs no nonce, and is told one all the same (RFC 9449 §8.1).
  const unbound = await push(strict, pushForm());
  t.equal(unbound.statusCode, 201);
  t.match(unbound.headers['dpop-nonce'], /^[A-Za-z0-9_-]{43}$/);

  const noNonce = await push(strict, pushForm(), { headers: { dpop: await dpopProof(key, htu) } });
  const nonce = noNonce.headers['dpop-nonce'] as string;
  t.match(nonce, /^[A-Za-z0-9_-]{43}$/);
  expectAnswer(t, noNonce, 400, {
    error: 'use_dpop_nonce',
    error_description: 'Use the nonce the server gave in the DPoP-Nonce header.',
  });
  expectAnswer(
    t,
    await push(strict, pushForm(), { headers: { dpop: await dpopProof(key, htu, { nonce: 'A'.repeat(43) }) } }),
    400,
    {
      error: 'use_dpop_nonce',
      error_description: 'Use the nonce the server gave in the DPoP-Nonce header.',
    },
  );
  const refused = await push(strict, pushForm({ scope: 'admin' }));
  t.equal(refused.statusCode, 400);
  t.match(refused.headers['dpop-nonce'], /^[A-Za-z0-9_-]{43}$/, 'every answer, errors too, carries a nonce');

  const strictAlice = new Browser(strict);
  const { code, verifier } = await pushedCode(
    {},
    { headers: { dpop: await dpopProof(key, htu, { nonce }) } },
    strict,
    strictAlice,
  );
  const tokenHtu = `${strictConfig.ISSUER}/oauth/token`;
  const form = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT };
  const basic: [string, string] = ['demo-client', strictConfig.DEMO_CLIENT_SECRET];
  const first = await tokenRequest(strict, form, { basic, headers: { dpop: await dpopProof(key, tokenHtu) } });
  t.equal(first.json().error, 'use_dpop_nonce', 'the token endpoint asks for the nonce too; nothing is spent');
  const tokens = await tokenRequest(strict, form, {
    basic,
    headers: { dpop: await dpopProof(key, tokenHtu, { nonce: first.headers['dpop-nonce'] as string }) },
  });
  t.equal(tokens.statusCode, 200, tokens.body);
  t.equal(tokens.json().token_type, 'DPoP');
  t.match(tokens.headers['dpop-nonce'], /^[A-Za-z0-9_-]{43}$/);
});

t.test('bounded: capped (503), short-lived, limited per address (429), failed secrets throttled', async (t) => {
  const { app: small } = await buildTestApp(t, {
    MAX_PUSHED_AUTHORIZATIONS: '1',
    PAR_REQUEST_TTL: '1',
    RATE_LIMIT_PAR: '3',
    THROTTLE_CLIENT: '2',
  });
  const first = await push(small, pushForm());
  t.match(first.json(), { request_uri: URN, expires_in: 1 });
  expectAnswer(
    t,
    await push(small, pushForm()),
    503,
    {
      error: 'temporarily_unavailable',
      error_description: 'The service is holding too many pending requests right now; try again shortly.',
    },
    { 'retry-after': '5' },
  );
  await new Promise((resolve) => setTimeout(resolve, 1200));
  await expectPage(t, authorizeWith(first.json().request_uri), 'unknown, has expired or was already used', small);
  t.equal((await push(small, pushForm())).statusCode, 201, 'the expired request made room');
  const limited = await push(small, pushForm());
  t.equal(limited.statusCode, 429);
  t.equal(limited.json().error, 'temporarily_unavailable');
  t.match(
    limited.json().error_description,
    /^Too many pushed authorization requests from this network; try again in \d+ seconds\.$/,
  );
  t.ok(limited.headers['retry-after']);

  const elsewhere = { remoteAddress: '10.9.8.7' };
  for (const wrong of ['wrong-1', 'wrong-2'])
    t.equal((await push(small, pushForm(), { ...elsewhere, basic: ['demo-client', wrong] })).statusCode, 401);
  expectAnswer(
    t,
    await push(small, pushForm(), elsewhere),
    429,
    {
      error: 'temporarily_unavailable',
      error_description: 'Too many failed authentications of this client; try again in 60 seconds.',
    },
    { 'retry-after': '60' },
  );
});
