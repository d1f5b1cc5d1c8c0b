// USE_PAR (RFC 9126) and USE_DPOP (RFC 9449) against the fake AS and RS of test/helper.ts, which answer like
// the RFCs say: a PAR endpoint (201 request_uri, client-authenticated), DPoP proofs checked with the project's
// verifyDpopProof, token_type DPoP with cnf.jkt, and use_dpop_nonce once when a nonce is required.
import t from 'tap';
import { decodeJwt } from '../../src/workshop/inspector/present.js';
import { buildTestApp, callbackUrl, connect, decodeBasic, startFlow } from '../helper.js';

const proofOf = (proof: string | undefined) => decodeJwt(proof ?? '');

t.test(
  'USE_PAR: the request is pushed, client-authenticated; the browser carries only client_id and request_uri',
  async (t) => {
    const ctx = await buildTestApp(t, { USE_PAR: 'true' });
    const browser = ctx.browser();
    const { authorize } = await startFlow(browser);
    t.equal(`${authorize.origin}${authorize.pathname}`, `${ctx.as.issuer}/authorize`);
    t.same(
      [...authorize.searchParams.keys()].sort(),
      ['client_id', 'request_uri'],
      'nothing else in the front channel',
    );
    t.equal(authorize.searchParams.get('client_id'), 'demo-client');
    const requestUri = authorize.searchParams.get('request_uri')!;
    t.match(requestUri, /^urn:ietf:params:oauth:request_uri:/);

    t.equal(ctx.as.parCalls.length, 1);
    const par = ctx.as.parCalls[0]!;
    t.same(
      decodeBasic(par.authorization),
      ['demo-client', 'demo-client-secret'],
      'authenticated as at the token endpoint',
    );
    t.match(par.contentType, /application\/x-www-form-urlencoded/);
    const pushed = par.params;
    t.equal(pushed.get('response_type'), 'code');
    t.equal(pushed.get('redirect_uri'), 'http://localhost:3000/callback');
    t.equal(pushed.get('code_challenge_method'), 'S256');
    t.match(pushed.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    t.ok(pushed.get('state'));
    t.notOk(pushed.has('dpop_jkt'), 'no DPoP key without USE_DPOP');

    // The flow completes with the pushed state.
    const res = await browser.get(callbackUrl({ code: 'c', state: pushed.get('state')!, iss: ctx.as.issuer }));
    t.equal(res.statusCode, 303);
    t.equal(res.headers.location, '/photos');
  },
);

t.test('USE_PAR against an AS without a PAR endpoint: 503 + Retry-After, nothing pushed, no flow kept', async (t) => {
  const ctx = await buildTestApp(t, { USE_PAR: '1' });
  ctx.as.advertisePar = false;
  const res = await ctx.browser().get('/connect');
  t.equal(res.statusCode, 503);
  t.ok(res.headers['retry-after']);
  t.equal(ctx.as.parCalls.length, 0);
});

t.test('USE_PAR: a refused push (400 invalid_request) is explained; the browser is not redirected', async (t) => {
  const ctx = await buildTestApp(t, { USE_PAR: '1' });
  ctx.as.parResponse = { status: 400, body: { error: 'invalid_request', error_description: 'dpop_jkt mismatch' } };
  const res = await ctx.browser().get('/connect');
  t.equal(res.statusCode, 400);
  t.notOk(res.headers.location);
  t.match(res.body, /invalid_request/);
  t.match(res.body, /dpop_jkt mismatch/);
});

t.test('USE_PAR: a push refused for client authentication (401 invalid_client) or a 5xx PAR endpoint', async (t) => {
  const wrong = await buildTestApp(t, { USE_PAR: '1', CLIENT_SECRET: 'not-the-demo-secret' });
  const refused = await wrong.browser().get('/connect');
  t.equal(refused.statusCode, 400);
  t.match(refused.body, /invalid_client/);
  t.notOk(refused.headers.location);

  const down = await buildTestApp(t, { USE_PAR: '1' });
  down.as.parResponse = { status: 503, body: { error: 'temporarily_unavailable' } };
  const outage = await down.browser().get('/connect');
  t.equal(outage.statusCode, 503, 'an outage, not a refusal');
  t.ok(outage.headers['retry-after']);
});

t.test("without USE_PAR nothing is pushed (today's behaviour)", async (t) => {
  const ctx = await buildTestApp(t);
  const { authorize } = await startFlow(ctx.browser());
  t.ok(authorize.searchParams.get('code_challenge'));
  t.notOk(authorize.searchParams.has('request_uri'));
  t.equal(ctx.as.parCalls.length, 0);
});

t.test('USE_DPOP: dpop_jkt, a proof at the token endpoint, a DPoP token, and DPoP with ath at the RS', async (t) => {
  const ctx = await buildTestApp(t, { USE_DPOP: 'true', USE_PAR: 'true' });
  const browser = await connect(ctx);
  const dpopJkt = ctx.as.parCalls[0]!.params.get('dpop_jkt');
  t.match(dpopJkt, /^[A-Za-z0-9_-]{43}$/, 'the code is bound to the key (RFC 9449 §10), pushed with the request');

  t.equal(ctx.as.tokenCalls.length, 1);
  const proof = proofOf(ctx.as.tokenCalls[0]!.dpop);
  t.ok(proof, 'the token request carries a DPoP proof');
  t.equal(proof!.header.typ, 'dpop+jwt');
  t.equal(proof!.header.alg, 'ES256');
  t.notOk((proof!.header.jwk as Record<string, unknown>).d, 'only the public key goes out');
  t.equal(proof!.claims.htm, 'POST');
  t.equal(proof!.claims.htu, `${ctx.as.issuer}/oauth/token`);
  t.notOk(proof!.claims.ath, 'no ath at the token endpoint');
  const [issued] = [...ctx.as.tokenJkt.entries()];
  t.equal(issued![1], dpopJkt, 'the token is bound to the key the code was bound to');
  t.notMatch(browser.cookie('quartet_client_session') ?? '', /"d"|kty/, 'the browser holds only a session id');

  const photos = await browser.get('/photos');
  t.equal(photos.statusCode, 200);
  t.notMatch(photos.body, /"d":|"kty"/, 'no key in the page');
  const authorization = ctx.rs.authorizations.at(-1)!;
  t.equal(authorization, `DPoP ${issued![0]}`, 'Authorization: DPoP (RFC 9449 §7.1)');
  const rsProof = proofOf(ctx.rs.dpop.proofs.at(-1));
  t.equal(rsProof!.claims.htm, 'GET');
  t.equal(rsProof!.claims.htu, `${ctx.rs.url}/photos`);
  t.match(rsProof!.claims.ath, /^[A-Za-z0-9_-]{43}$/, 'ath binds the proof to the token');
  t.same(rsProof!.header.jwk, proof!.header.jwk, 'the same key for the whole session');
  t.not(rsProof!.claims.jti, proof!.claims.jti, 'a fresh jti per proof');

  // Another browser gets another key.
  await connect(ctx);
  const other = proofOf(ctx.as.tokenCalls[1]!.dpop);
  t.notSame(other!.header.jwk, proof!.header.jwk, 'a key pair per browser session');
});

t.test('USE_DPOP with nonces required: one retry at the AS (400) and the RS (401), the nonce then kept', async (t) => {
  const ctx = await buildTestApp(t, { USE_DPOP: 'true' });
  ctx.as.dpop.requireNonce = true;
  ctx.rs.dpop.requireNonce = true;
  const browser = await connect(ctx);
  t.equal(ctx.as.dpop.nonceRefusals, 1, 'the AS asked once for a nonce');
  t.equal(ctx.as.tokenCalls.length, 2, 'the token request was sent twice');
  t.notOk(proofOf(ctx.as.tokenCalls[0]!.dpop)!.claims.nonce);
  t.ok(proofOf(ctx.as.tokenCalls[1]!.dpop)!.claims.nonce, 'the retry carries the DPoP-Nonce');

  t.equal((await browser.get('/photos')).statusCode, 200);
  t.equal(ctx.rs.dpop.nonceRefusals, 1, 'the RS asked once');
  t.equal(ctx.rs.authorizations.length, 2);
  t.equal((await browser.get('/photos')).statusCode, 200);
  t.equal(ctx.rs.dpop.nonceRefusals, 1, 'the next page load reuses the nonce: no extra round trip');
});

t.test('USE_DPOP: a server that keeps asking for a nonce is retried once only', async (t) => {
  const ctx = await buildTestApp(t, { USE_DPOP: 'true' });
  const browser = ctx.browser();
  const { state } = await startFlow(browser);
  ctx.as.tokenResponse = {
    status: 400,
    body: { error: 'use_dpop_nonce', error_description: 'nonce required' },
    headers: { 'dpop-nonce': 'n-1' },
  };
  const res = await browser.get(callbackUrl({ code: 'c', state, iss: ctx.as.issuer }));
  t.equal(ctx.as.tokenCalls.length, 2, 'two requests, not more');
  t.equal(res.statusCode, 502, 'a refused code exchange, as for any other token error');
  t.match(res.body, /use_dpop_nonce/);
});

t.test('USE_DPOP: the refresh proves the same key; the new token is DPoP-bound too', async (t) => {
  const ctx = await buildTestApp(t, { USE_DPOP: 'true' });
  ctx.as.expiresIn = 5; // inside the refresh margin: the next page load refreshes first
  const browser = await connect(ctx);
  t.equal((await browser.get('/photos')).statusCode, 200);
  t.equal(ctx.as.tokenCalls.length, 2);
  const refresh = ctx.as.tokenCalls[1]!;
  t.equal(refresh.params.get('grant_type'), 'refresh_token');
  const first = proofOf(ctx.as.tokenCalls[0]!.dpop)!;
  const second = proofOf(refresh.dpop)!;
  t.same(second.header.jwk, first.header.jwk, 'the key the refresh token is bound to');
  t.match(ctx.rs.authorizations.at(-1), /^DPoP /);
});

t.test('USE_DPOP against an AS that answers Bearer: the token is used as a Bearer token', async (t) => {
  const ctx = await buildTestApp(t, { USE_DPOP: 'true' });
  const browser = ctx.browser();
  const { state } = await startFlow(browser);
  ctx.as.tokenResponse = {
    status: 200,
    body: { access_token: 'plain-token', token_type: 'Bearer', expires_in: 300 },
  };
  ctx.as.issuedTokens.add('plain-token');
  t.equal((await browser.get(callbackUrl({ code: 'c', state, iss: ctx.as.issuer }))).statusCode, 303);
  ctx.as.tokenResponse = null;
  t.equal((await browser.get('/photos')).statusCode, 200);
  t.equal(ctx.rs.authorizations.at(-1), 'Bearer plain-token', 'RFC 9449 §5: no binding, no proof');
  t.equal(ctx.rs.dpop.proofs.length, 0);
});

t.test("without USE_DPOP no proof is sent anywhere (today's behaviour)", async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  t.equal((await browser.get('/photos')).statusCode, 200);
  t.equal(ctx.as.tokenCalls[0]!.dpop, undefined);
  t.match(ctx.rs.authorizations.at(-1), /^Bearer /);
});

t.test(
  'workshop mode: the inspector shows the push, each DPoP proof decoded, and cnf.jkt beside the key',
  async (t) => {
    const ctx = await buildTestApp(t, { WORKSHOP_MODE: 'true', USE_PAR: 'true', USE_DPOP: 'true' });
    ctx.rs.dpop.requireNonce = true;
    const browser = await connect(ctx);
    t.equal((await browser.get('/photos')).statusCode, 200);
    const body = (await browser.get('/workshop/inspector')).body;
    t.match(body, 'Pushed authorization request (RFC 9126)');
    t.match(body, 'Pushed authorization response: 201');
    t.match(body, 'request_uri');
    const jkt = ctx.as.parCalls[0]!.params.get('dpop_jkt')!;
    // A step's title shows more than once on the page (diagram and list): count relative to the one RS step.
    const count = (title: string) => body.split(title).length - 1;
    t.equal(
      count('DPoP proof (header DPoP)'),
      3 * count('GET /photos'),
      'three proofs: the token request, the RS call refused for a nonce, its retry',
    );
    t.match(body, 'dpop+jwt');
    t.match(body, jkt, 'the key thumbprint is shown');
    t.match(body, 'match: the token is bound to this key.');
    t.match(body, 'use_dpop_nonce', 'the nonce refusal is shown');
    t.notMatch(body, /&quot;d&quot;:|"d":/, 'never the private key');
  },
);
