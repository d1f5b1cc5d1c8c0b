// PROFILE=fapi2 (FAPI 2.0 Security Profile §5.3.2) over HTTP: the metadata says what the profile asks; client
// authentication is private_key_jwt only, with aud the issuer as a string and PS256/ES256/EdDSA; every token
// request needs a DPoP proof; every authorization request is pushed; refresh tokens are not rotated; dynamic
// registration takes private_key_jwt clients only. Each refusal is checked with its exact answer. A whole flow
// (push with an assertion and a proof, the browser with request_uri, code, DPoP token, refresh) runs through.
import t, { type Test } from 'tap';
import { decodeJwt } from 'jose';
import { buildTestApp } from '../helper.js';
import { Browser, DEMO_REDIRECT, location, obtainCode, pkcePair, tokenRequest } from '../browser.js';
import { registerClient } from '../../src/lib/client-registration.js';
import { DPOP_REQUIRED_DESCRIPTION } from '../../src/oauth/dpop-checks.js';
import { dpopKey, dpopProof } from '../dpop-fixtures.js';
import { assertionForm, clientAssertion, clientKey } from '../client-assertion-fixtures.js';

const { app, config } = await buildTestApp(t, { PROFILE: 'fapi2', CLIENT_REGISTRATION: 'open' });
const ISSUER = config.ISSUER;
const TOKEN = `${ISSUER}/oauth/token`;
const PAR = `${ISSUER}/oauth/par`;

const key = await clientKey('ES256', 'fapi-1');
const { clientId: CLIENT } = await registerClient(
  app.prisma,
  {
    name: 'FAPI client',
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    redirectUris: [DEMO_REDIRECT],
    scopes: ['photos:read', 'documents:read'],
    jwks: { keys: [key.jwk] },
  },
  { keysOnly: true },
);
const proofKey = await dpopKey();

const assertion = (aud: string | string[] = ISSUER) => clientAssertion(key, CLIENT, aud);
const post = (url: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  tokenRequest(app, form, { url, headers });
const clientCredentials = async (form: Record<string, string>, headers: Record<string, string> = {}) =>
  post('/oauth/token', { grant_type: 'client_credentials', scope: 'photos:read', ...form }, headers);
const withProof = async (htu = TOKEN) => ({ dpop: await dpopProof(proofKey, htu) });

function expectRefusal(t: Test, res: Awaited<ReturnType<typeof post>>, status: number, body: object) {
  t.equal(res.statusCode, status, res.body);
  t.same(res.json(), body);
}

t.test('the metadata says what the profile asks (RFC 8414 §2, FAPI 2.0 §5.3.2)', async (t) => {
  const meta = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  const algs = ['ES256', 'PS256', 'EdDSA', 'Ed25519'];
  t.match(meta, {
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: algs,
    revocation_endpoint_auth_methods_supported: ['private_key_jwt'],
    introspection_endpoint_auth_methods_supported: ['private_key_jwt'],
    dpop_signing_alg_values_supported: ['ES256', 'PS256', 'EdDSA', 'Ed25519'],
    require_pushed_authorization_requests: true,
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    client_id_metadata_document_supported: false,
  });
});

t.test('client authentication: private_key_jwt only; other methods refused alike (§5.3.2.1)', async (t) => {
  const refusal = {
    error: 'invalid_client',
    error_description: 'This server accepts client authentication with private_key_jwt only.',
  };
  const basic = await tokenRequest(
    app,
    { grant_type: 'client_credentials' },
    { basic: ['demo-client', config.DEMO_CLIENT_SECRET], headers: await withProof() },
  );
  expectRefusal(t, basic, 401, refusal);
  t.equal(basic.headers['www-authenticate'], 'Basic realm="quartet"', 'RFC 6749 §5.2: the scheme the client used');
  const secretPost = await clientCredentials(
    { client_id: 'demo-client', client_secret: config.DEMO_CLIENT_SECRET },
    await withProof(),
  );
  expectRefusal(t, secretPost, 401, refusal);
  t.equal(secretPost.headers['www-authenticate'], undefined);
  const publicClient = await post('/oauth/par', { client_id: 'workshop-cli', response_type: 'code' });
  expectRefusal(t, publicClient, 401, refusal);
});

t.test('client assertions: aud the issuer as a string, PS256/ES256/EdDSA only (§5.3.2.1, §5.4.1)', async (t) => {
  const audience = {
    error: 'invalid_client',
    error_description: `The client assertion's aud must be this server's issuer identifier as a string, ${ISSUER}.`,
  };
  for (const aud of [TOKEN, [ISSUER], [ISSUER, TOKEN]]) {
    const res = await clientCredentials(assertionForm(await assertion(aud)), await withProof());
    expectRefusal(t, res, 401, audience);
  }
  const es384 = await clientKey('ES384', 'fapi-384');
  const res = await clientCredentials(assertionForm(await clientAssertion(es384, CLIENT, ISSUER)), await withProof());
  expectRefusal(t, res, 401, {
    error: 'invalid_client',
    error_description: 'The client assertion must be signed with one of ES256, PS256, EdDSA, Ed25519.',
  });
  const ok = await clientCredentials(assertionForm(await assertion()), await withProof());
  t.equal(ok.statusCode, 200, ok.body);
  t.equal(ok.json().token_type, 'DPoP', 'a sender-constrained token');
  t.same(decodeJwt(ok.json().access_token).cnf, { jkt: proofKey.jkt });
});

t.test('every token request needs a DPoP proof, signed with PS256, ES256 or EdDSA (§5.3.2.1)', async (t) => {
  const none = await clientCredentials(assertionForm(await assertion()));
  expectRefusal(t, none, 400, { error: 'invalid_request', error_description: DPOP_REQUIRED_DESCRIPTION });
  const es384 = await dpopKey('ES384');
  const weak = await clientCredentials(assertionForm(await assertion()), {
    dpop: await dpopProof(es384, TOKEN, { alg: 'ES384' }),
  });
  expectRefusal(t, weak, 400, {
    error: 'invalid_dpop_proof',
    error_description: 'The DPoP proof is signed with an algorithm not allowed.',
  });
});

t.test('an authorization request that was not pushed is refused by redirect (§5.3.2.2, RFC 9126 §4)', async (t) => {
  const { challenge } = pkcePair();
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT,
    redirect_uri: DEMO_REDIRECT,
    scope: 'photos:read',
    state: 'st-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const res = await app.inject({ url: `/authorize?${query}` });
  t.equal(res.statusCode, 303);
  const back = location(res);
  t.equal(back.origin + back.pathname, DEMO_REDIRECT);
  t.equal(back.searchParams.get('error'), 'invalid_request');
  t.equal(back.searchParams.get('state'), 'st-1');
  t.equal(back.searchParams.get('iss'), ISSUER, 'RFC 9207: iss on every authorization response');
  t.notOk(back.searchParams.has('code'));
});

t.test('a push without redirect_uri is refused, though the client registered one (§5.3.2.2)', async (t) => {
  const res = await post(
    '/oauth/par',
    {
      response_type: 'code',
      scope: 'photos:read',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
      ...assertionForm(await assertion()),
    },
    await withProof(PAR),
  );
  expectRefusal(t, res, 400, {
    error: 'invalid_request',
    error_description: 'redirect_uri is required in a pushed authorization request.',
  });
});

t.test('the whole flow: push, browser, code, DPoP token; the refresh token is not rotated (§5.3.2.1)', async (t) => {
  const { verifier, challenge } = pkcePair();
  const pushed = await post(
    '/oauth/par',
    {
      response_type: 'code',
      redirect_uri: DEMO_REDIRECT,
      scope: 'photos:read',
      state: 'st-2',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...assertionForm(await assertion()),
    },
    await withProof(PAR),
  );
  t.equal(pushed.statusCode, 201, pushed.body);
  t.ok(pushed.json().expires_in <= 60, 'request_uri expires_in well under 600 s (§5.3.2.2)');
  const url = `/authorize?client_id=${encodeURIComponent(CLIENT)}&request_uri=${encodeURIComponent(pushed.json().request_uri)}`;
  const { code, redirect } = await obtainCode(app, { browser: new Browser(app), url });
  t.equal(redirect.searchParams.get('iss'), ISSUER);
  const redeem = async (form: Record<string, string>) =>
    post('/oauth/token', { ...form, ...assertionForm(await assertion()) }, await withProof());
  const tokens = await redeem({
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: DEMO_REDIRECT,
  });
  t.equal(tokens.statusCode, 200, tokens.body);
  t.equal(tokens.json().token_type, 'DPoP');
  const refreshToken = tokens.json().refresh_token as string;
  t.ok(refreshToken, 'a refresh token');

  const first = await redeem({ grant_type: 'refresh_token', refresh_token: refreshToken });
  t.equal(first.statusCode, 200, first.body);
  t.equal(first.json().refresh_token, undefined, 'no new refresh token: the same one stays valid');
  t.equal(first.json().token_type, 'DPoP');
  const second = await redeem({ grant_type: 'refresh_token', refresh_token: refreshToken });
  t.equal(second.statusCode, 200, 'the same refresh token works again');
  const [grant] = await app.prisma.grant.findMany({ where: { clientId: CLIENT, revokedAt: null } });
  t.ok(grant, 'the grant is live');
  t.equal(await app.prisma.refreshToken.count({ where: { grantId: grant!.id } }), 1, 'one refresh token, kept');

  await app.grants.revoke(grant!.id, 'test');
  const revoked = await redeem({ grant_type: 'refresh_token', refresh_token: refreshToken });
  expectRefusal(t, revoked, 400, { error: 'invalid_grant', error_description: 'The refresh token has been revoked.' });
});

t.test('dynamic registration takes private_key_jwt clients only', async (t) => {
  const register = (body: object) => app.inject({ method: 'POST', url: '/oauth/register', payload: body });
  const refused = {
    error: 'invalid_client_metadata',
    error_description: 'token_endpoint_auth_method must be one of private_key_jwt.',
  };
  const base = { redirect_uris: ['https://app.example/cb'], client_name: 'FAPI app' };
  for (const body of [base, { ...base, token_endpoint_auth_method: 'client_secret_basic' }]) {
    const res = await register(body);
    t.equal(res.statusCode, 400);
    t.same(res.json(), refused);
  }
  const res = await register({ ...base, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.jwk] } });
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.json().client_secret, undefined, 'no secret');
});
