// DPoP at the token endpoint (RFC 9449 §5): a valid proof binds the access token to its key (cnf.jkt, §6.1)
// and makes it a DPoP token; a bad proof is 400 invalid_dpop_proof (§5.2) and spends nothing; without a proof
// the answer is Bearer as before, unless DPOP_REQUIRED.
import t from 'tap';
import { decodeJwt } from 'jose';
import { Browser, DEMO_REDIRECT, obtainCode, tokenRequest } from '../browser.js';
import { buildTestApp } from '../helper.js';
import { dpopKey, dpopProof } from '../dpop-fixtures.js';
import { expectError, tokenFixtures } from '../token-fixtures.js';
import { DPOP_REQUIRED_DESCRIPTION } from '../../src/oauth/dpop-checks.js';

const { app, config, DEMO, tokens, refresh } = await tokenFixtures(t);
const HTU = `${config.ISSUER}/oauth/token`;
const key = await dpopKey();

const clientCredentials = (headers: Record<string, string> = {}) =>
  tokenRequest(app, { grant_type: 'client_credentials', scope: 'photos:read' }, { basic: DEMO, headers });

t.test('client_credentials with a valid proof: a DPoP token bound to the key (§5, §6.1)', async (t) => {
  const res = await clientCredentials({ dpop: await dpopProof(key, HTU) });
  t.equal(res.statusCode, 200);
  t.equal(res.json().token_type, 'DPoP');
  t.same(decodeJwt(res.json().access_token).cnf, { jkt: key.jkt });
});

t.test('without a proof the token is a Bearer token with no cnf', async (t) => {
  const res = await clientCredentials();
  t.equal(res.statusCode, 200);
  t.equal(res.json().token_type, 'Bearer');
  t.notOk(decodeJwt(res.json().access_token).cnf);
});

t.test('code and refresh without proofs: Bearer tokens as before', async (t) => {
  const first = await tokens({}, {});
  t.equal(decodeJwt(first.access_token).cnf, undefined, 'code redeemed without a proof: Bearer');
  const res = await refresh(first.refresh_token, {}, DEMO);
  t.equal(res.statusCode, 200);
  t.equal(res.json().token_type, 'Bearer');
});

/** demo-client (confidential) redeems a code for alice with a proof of `key`. */
async function demoCodeWithProof() {
  const { code, verifier } = await obtainCode(app, { browser: new Browser(app) });
  return tokenRequest(
    app,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT },
    { basic: DEMO, headers: { dpop: await dpopProof(key, HTU) } },
  );
}

t.test('authorization_code redeemed with a proof: DPoP token', async (t) => {
  const res = await demoCodeWithProof();
  t.equal(res.statusCode, 200);
  t.equal(res.json().token_type, 'DPoP');
  t.same(decodeJwt(res.json().access_token).cnf, { jkt: key.jkt });
  const refreshed = await tokenRequest(
    app,
    { grant_type: 'refresh_token', refresh_token: res.json().refresh_token },
    { basic: DEMO, headers: { dpop: await dpopProof(key, HTU) } },
  );
  t.equal(refreshed.statusCode, 200);
  t.equal(refreshed.json().token_type, 'DPoP');
  t.same(decodeJwt(refreshed.json().access_token).cnf, { jkt: key.jkt });
});

t.test('a bad proof is 400 invalid_dpop_proof (§5.2)', async (t) => {
  const other = await dpopKey();
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<string>][] = [
    ['not a JWS', async () => 'not-a-jwt'],
    ['wrong htm', () => dpopProof(key, HTU, { htm: 'GET' })],
    ['wrong htu', () => dpopProof(key, HTU, { htu: `${config.ISSUER}/oauth/revoke` })],
    ['wrong typ', () => dpopProof(key, HTU, { typ: 'JWT' })],
    ['too old', () => dpopProof(key, HTU, { iat: now - config.DPOP_PROOF_LIFETIME - 30 })],
    ['from the future', () => dpopProof(key, HTU, { iat: now + 600 })],
    [
      'signed by another key',
      async () => {
        const [header, payload] = (await dpopProof(key, HTU)).split('.');
        const signature = (await dpopProof(other, HTU)).split('.')[2];
        return `${header}.${payload}.${signature}`;
      },
    ],
  ];
  for (const [name, make] of cases) {
    const res = await clientCredentials({ dpop: await make() });
    expectError(t, res, 400, 'invalid_dpop_proof');
    t.equal(res.headers['cache-control'], 'no-store', `${name}: no-store`);
  }
});

t.test('a proof used twice (same jti) is refused the second time (§11.1)', async (t) => {
  const proof = await dpopProof(key, HTU);
  t.equal((await clientCredentials({ dpop: proof })).statusCode, 200);
  expectError(t, await clientCredentials({ dpop: proof }), 400, 'invalid_dpop_proof');
});

t.test('a bad proof spends no authorization code', async (t) => {
  const { obtainCode, DEMO_REDIRECT, Browser } = await import('../browser.js');
  const { code, verifier } = await obtainCode(app, { browser: new Browser(app) });
  const form = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT };
  const bad = await tokenRequest(app, form, {
    basic: DEMO,
    headers: { dpop: await dpopProof(key, HTU, { htm: 'GET' }) },
  });
  expectError(t, bad, 400, 'invalid_dpop_proof');
  const good = await tokenRequest(app, form, { basic: DEMO, headers: { dpop: await dpopProof(key, HTU) } });
  t.equal(good.statusCode, 200, 'the code still works');
});

t.test('metadata lists the proof algorithms (§5.1)', async (t) => {
  const res = await app.inject('/.well-known/oauth-authorization-server');
  t.same(res.json().dpop_signing_alg_values_supported, ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'PS384']);
});

t.test('DPOP_REQUIRED: a token request without a proof is 400 invalid_request', async (t) => {
  const { app: strict, config: strictConfig } = await buildTestApp(t, { DPOP_REQUIRED: 'true' });
  const basic: [string, string] = ['demo-client', strictConfig.DEMO_CLIENT_SECRET];
  const form = { grant_type: 'client_credentials', scope: 'photos:read' };
  expectError(t, await tokenRequest(strict, form, { basic }), 400, 'invalid_request', DPOP_REQUIRED_DESCRIPTION);
  const ok = await tokenRequest(strict, form, {
    basic,
    headers: { dpop: await dpopProof(key, `${strictConfig.ISSUER}/oauth/token`) },
  });
  t.equal(ok.statusCode, 200);
  t.equal(ok.json().token_type, 'DPoP');
});

t.test('a full jti guard is 503 with Retry-After, not an unchecked proof', async (t) => {
  const { app: small, config: smallConfig } = await buildTestApp(t, { MAX_DPOP_PROOFS: '1' });
  const basic: [string, string] = ['demo-client', smallConfig.DEMO_CLIENT_SECRET];
  const form = { grant_type: 'client_credentials', scope: 'photos:read' };
  const htu = `${smallConfig.ISSUER}/oauth/token`;
  t.equal((await tokenRequest(small, form, { basic, headers: { dpop: await dpopProof(key, htu) } })).statusCode, 200);
  const full = await tokenRequest(small, form, { basic, headers: { dpop: await dpopProof(key, htu) } });
  t.equal(full.statusCode, 503);
  t.equal(full.json().error, 'temporarily_unavailable');
  t.ok(full.headers['retry-after']);
});

/** workshop-cli (public) redeems a code for alice, with a proof of `proofKey` when given. */
async function publicTokens(proofKey?: typeof key, target = app) {
  const { obtainCode, CLI_REDIRECT, Browser } = await import('../browser.js');
  const { code, verifier } = await obtainCode(target, {
    browser: new Browser(target),
    params: { client_id: 'workshop-cli', redirect_uri: CLI_REDIRECT },
  });
  const res = await tokenRequest(
    target,
    {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: CLI_REDIRECT,
      client_id: 'workshop-cli',
    },
    proofKey ? { headers: { dpop: await dpopProof(proofKey, HTU) } } : {},
  );
  t.equal(res.statusCode, 200, res.body);
  return res.json() as { refresh_token: string; token_type: string };
}

const publicRefresh = async (refreshToken: string, proofKey?: typeof key, target = app) =>
  tokenRequest(
    target,
    { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'workshop-cli' },
    proofKey ? { headers: { dpop: await dpopProof(proofKey, HTU) } } : {},
  );

t.test("a public client's refresh token is bound to the proof's key (§5)", async (t) => {
  const first = await publicTokens(key);
  t.equal(first.token_type, 'DPoP');
  const other = await dpopKey();
  expectError(t, await publicRefresh(first.refresh_token), 400, 'invalid_grant', /bound to another DPoP key/);
  expectError(t, await publicRefresh(first.refresh_token, other), 400, 'invalid_grant', /bound to another DPoP key/);
  const ok = await publicRefresh(first.refresh_token, key);
  t.equal(ok.statusCode, 200, 'the refusals spent nothing; the right key works');
  t.equal(ok.json().token_type, 'DPoP');
  t.same(decodeJwt(ok.json().access_token).cnf, { jkt: key.jkt });
  // The rotated refresh token is bound too (the binding is the grant's).
  expectError(t, await publicRefresh(ok.json().refresh_token, other), 400, 'invalid_grant');
  t.equal((await publicRefresh(ok.json().refresh_token, key)).statusCode, 200);
});

t.test("a public client's refresh token obtained without a proof is not bound", async (t) => {
  const first = await publicTokens();
  t.equal(first.token_type, 'Bearer');
  const res = await publicRefresh(first.refresh_token, key);
  t.equal(res.statusCode, 200);
  t.equal(res.json().token_type, 'DPoP', 'its new access token is bound to the proof that came');
});

t.test("a confidential client's refresh token is not bound: any key, or none, refreshes", async (t) => {
  const res = await demoCodeWithProof();
  const other = await dpopKey();
  const withOther = await refresh(res.json().refresh_token, {}, DEMO);
  t.equal(withOther.statusCode, 200);
  t.equal(withOther.json().token_type, 'Bearer');
  const next = await tokenRequest(
    app,
    { grant_type: 'refresh_token', refresh_token: withOther.json().refresh_token },
    { basic: DEMO, headers: { dpop: await dpopProof(other, HTU) } },
  );
  t.equal(next.statusCode, 200);
  t.same(decodeJwt(next.json().access_token).cnf, { jkt: other.jkt });
});

t.test('introspection of a bound token answers token_type DPoP and its cnf (§6.2)', async (t) => {
  const bound = await clientCredentials({ dpop: await dpopProof(key, HTU) });
  const res = await tokenRequest(app, { token: bound.json().access_token }, { basic: DEMO, url: '/oauth/introspect' });
  t.equal(res.json().active, true);
  t.equal(res.json().token_type, 'DPoP');
  t.same(res.json().cnf, { jkt: key.jkt });
  const bearer = await clientCredentials();
  const plain = await tokenRequest(
    app,
    { token: bearer.json().access_token },
    { basic: DEMO, url: '/oauth/introspect' },
  );
  t.equal(plain.json().token_type, 'Bearer');
  t.notOk(plain.json().cnf);
});

t.test('dpop_jkt at /authorize binds the code to that key (RFC 9449 §10)', async (t) => {
  const other = await dpopKey();
  /** demo-client gets a code for alice with dpop_jkt of `key`. */
  const boundCode = () => obtainCode(app, { browser: new Browser(app), params: { dpop_jkt: key.jkt } });
  const form = (code: string, verifier: string) => ({
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: DEMO_REDIRECT,
  });

  const ok = await boundCode();
  const res = await tokenRequest(app, form(ok.code, ok.verifier), {
    basic: DEMO,
    headers: { dpop: await dpopProof(key, HTU) },
  });
  t.equal(res.statusCode, 200);
  t.same(decodeJwt(res.json().access_token).cnf, { jkt: key.jkt });

  const withOther = await boundCode();
  const refused = await tokenRequest(app, form(withOther.code, withOther.verifier), {
    basic: DEMO,
    headers: { dpop: await dpopProof(other, HTU) },
  });
  expectError(t, refused, 400, 'invalid_grant', /^The authorization code is bound to another DPoP key \(dpop_jkt\)\.$/);
  t.notOk(refused.json().access_token, 'nothing issued');

  const without = await boundCode();
  expectError(
    t,
    await tokenRequest(app, form(without.code, without.verifier), { basic: DEMO }),
    400,
    'invalid_grant',
    /^The authorization code is bound to a DPoP key \(dpop_jkt\): redeem it with a DPoP proof of that key\.$/,
  );
  const grants = await app.prisma.grant.count({ where: { clientId: 'demo-client', revokedAt: null } });
  const replay = await tokenRequest(app, form(without.code, without.verifier), {
    basic: DEMO,
    headers: { dpop: await dpopProof(key, HTU) },
  });
  expectError(t, replay, 400, 'invalid_grant', /already used/);
  t.equal(
    await app.prisma.grant.count({ where: { clientId: 'demo-client', revokedAt: null } }),
    grants,
    'no live grant came of the refused redemptions',
  );
});

t.test('dpop_bound_access_tokens (RFC 9449 §5.2): a token request without a proof is invalid_request', async (t) => {
  await app.prisma.client.update({ where: { id: 'demo-client' }, data: { dpopBoundAccessTokens: true } });
  t.teardown(() => app.prisma.client.update({ where: { id: 'demo-client' }, data: { dpopBoundAccessTokens: false } }));
  const res = await clientCredentials();
  expectError(
    t,
    res,
    400,
    'invalid_request',
    /^This client is registered with dpop_bound_access_tokens: every token request needs a DPoP proof\.$/,
  );
  t.equal(res.headers['cache-control'], 'no-store');
  const { code, verifier } = await obtainCode(app, { browser: new Browser(app) });
  const form = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT };
  expectError(t, await tokenRequest(app, form, { basic: DEMO }), 400, 'invalid_request', /dpop_bound_access_tokens/);
  const ok = await tokenRequest(app, form, { basic: DEMO, headers: { dpop: await dpopProof(key, HTU) } });
  t.equal(ok.statusCode, 200, 'the refusal spent nothing: the code still works with a proof');
  t.equal(ok.json().token_type, 'DPoP');
  expectError(t, await refresh(ok.json().refresh_token, {}, DEMO), 400, 'invalid_request', /dpop_bound_access_tokens/);
  const others = await tokenRequest(
    app,
    { grant_type: 'authorization_code', client_id: 'workshop-cli', code: 'x', code_verifier: 'y'.repeat(43) },
    {},
  );
  t.equal(others.json().error, 'invalid_grant', 'other clients are not held to it');
});

t.test('DPOP_NONCE_REQUIRED (RFC 9449 §8): use_dpop_nonce with a DPoP-Nonce, then the nonce works', async (t) => {
  const { app: strict, config: strictConfig } = await buildTestApp(t, { DPOP_NONCE_REQUIRED: 'true' });
  const basic: [string, string] = ['demo-client', strictConfig.DEMO_CLIENT_SECRET];
  const htu = `${strictConfig.ISSUER}/oauth/token`;
  const form = { grant_type: 'client_credentials', scope: 'photos:read' };
  const send = async (proofOptions?: Parameters<typeof dpopProof>[2]) =>
    tokenRequest(strict, form, {
      basic,
      headers: proofOptions ? { dpop: await dpopProof(key, htu, proofOptions) } : {},
    });

  const first = await send({});
  expectError(t, first, 400, 'use_dpop_nonce', /^Use the nonce the server gave in the DPoP-Nonce header\.$/);
  t.equal(first.headers['cache-control'], 'no-store');
  const nonce = first.headers['dpop-nonce'] as string;
  t.match(nonce, /^[A-Za-z0-9_-]{43}$/);
  expectError(t, await send({ nonce: 'A'.repeat(43) }), 400, 'use_dpop_nonce');
  expectError(t, await send({ nonce: `${nonce}x` }), 400, 'use_dpop_nonce');

  const ok = await send({ nonce });
  t.equal(ok.statusCode, 200, ok.body);
  t.equal(ok.json().token_type, 'DPoP');
  t.match(ok.headers['dpop-nonce'], /^[A-Za-z0-9_-]{43}$/, 'a success carries the current nonce too');
  const bearer = await send();
  t.equal(bearer.statusCode, 200, 'without a proof there is no nonce to carry (DPOP_REQUIRED is another setting)');
  t.equal(bearer.json().token_type, 'Bearer');
  t.match(bearer.headers['dpop-nonce'], /^[A-Za-z0-9_-]{43}$/);
  const failed = await tokenRequest(strict, form, { basic: ['demo-client', 'wrong'] });
  t.equal(failed.statusCode, 401);
  t.match(failed.headers['dpop-nonce'], /^[A-Za-z0-9_-]{43}$/, 'errors carry a nonce too');
  const revoke = await tokenRequest(strict, { token: 'x' }, { basic, url: '/oauth/revoke' });
  t.notOk(revoke.headers['dpop-nonce'], 'only the endpoints that take proofs give nonces');
});

t.test(
  'REFRESH_TOKEN_ROTATION=false: kept where the token is sender-constrained or the client confidential',
  async (t) => {
    // Its own environment: an embedded database has one opener.
    const { app: kept } = await buildTestApp(t, { REFRESH_TOKEN_ROTATION: 'false' });
    // RFC 9700 §4.14.2: a public client's token that is not bound to a key must still rotate.
    const unbound = await publicTokens(undefined, kept);
    const rotated = await publicRefresh(unbound.refresh_token, undefined, kept);
    t.equal(rotated.statusCode, 200, rotated.body);
    t.not(rotated.json().refresh_token, undefined, 'a public, unbound token: rotated');
    t.not(rotated.json().refresh_token, unbound.refresh_token);
    // Bound to the proof's key (RFC 9449 §5): a stolen copy is useless, so it stays.
    const bound = await publicTokens(key, kept);
    for (const n of [1, 2]) {
      const res = await publicRefresh(bound.refresh_token, key, kept);
      t.equal(res.statusCode, 200, `bound token, use ${n}: ${res.body}`);
      t.equal(res.json().refresh_token, undefined, `use ${n}: no new refresh token, the same one stays valid`);
    }
    // A confidential client authenticates at every refresh: its token stays too.
    const { code, verifier } = await obtainCode(kept, { browser: new Browser(kept) });
    const demo = await tokenRequest(
      kept,
      { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT },
      { basic: DEMO },
    );
    for (const n of [1, 2]) {
      const res = await tokenRequest(
        kept,
        { grant_type: 'refresh_token', refresh_token: demo.json().refresh_token },
        { basic: DEMO },
      );
      t.equal(res.statusCode, 200, `confidential, use ${n}`);
      t.equal(res.json().refresh_token, undefined);
    }
  },
);
