// RFC 8414 metadata, the JWKS, and signing keys that outlive a restart and are created once.
import t from 'tap';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { buildApp } from '../../src/app.js';
import { createEnvironment, testConfig } from '../helper.js';
import { obtainCode, tokenRequest, DEMO_REDIRECT } from '../browser.js';

t.test('metadata lists the endpoints and capabilities (RFC 8414 §2, RFC 9207 §3)', async (t) => {
  const env = await createEnvironment(t);
  const app = await env.build();
  const res = await app.inject({ url: '/.well-known/oauth-authorization-server' });
  t.equal(res.statusCode, 200);
  const issuer = env.config.ISSUER;
  t.match(res.json(), {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    scopes_supported: ['photos:read', 'photos:write', 'documents:read', 'documents:write'],
    authorization_response_iss_parameter_supported: true,
  });

  const jwks = await app.inject({ url: '/.well-known/jwks.json' });
  t.equal(jwks.statusCode, 200);
  const { keys } = jwks.json() as { keys: Array<Record<string, unknown>> };
  t.equal(keys.length, 1);
  t.match(keys[0], { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: String });
  for (const key of keys) t.notOk('d' in key, 'no private member in the JWKS');

  const stored = await app.prisma.signingKey.findFirstOrThrow();
  t.notMatch(stored.privateJwkEnc, /"d"/, 'private key stored encrypted');
  t.notOk('d' in (stored.publicJwk as object));
});

t.test('a restart keeps the keys: a token issued before verifies against the new instance', async (t) => {
  const env = await createEnvironment(t);
  const first = await env.build();
  const { code, verifier } = await obtainCode(first);
  const token = (await tokenRequest(first, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT }, { basic: ['demo-client', env.config.DEMO_CLIENT_SECRET] })).json().access_token as string;
  await first.close();

  const second = await env.build();
  const jwks = createLocalJWKSet((await second.inject({ url: '/.well-known/jwks.json' })).json());
  const { payload } = await jwtVerify(token, jwks, { issuer: env.config.ISSUER, audience: env.config.RESOURCE_AUDIENCE, typ: 'at+jwt' });
  t.equal(payload.client_id, 'demo-client');
  t.equal(await second.prisma.signingKey.count(), 1);
});

t.test('two instances starting at once on an empty database create a single key', async (t) => {
  const env = await createEnvironment(t, { seed: false });
  const [a, b] = await Promise.all([env.build(), env.build()]);
  t.same(a.keys.jwks(), b.keys.jwks());
  t.equal(await a.prisma.signingKey.count(), 1);
});

t.test('a wrong KEY_ENCRYPTION_SECRET stops the start with a clear message', async (t) => {
  const env = await createEnvironment(t, { seed: false });
  await env.build();
  await t.rejects(
    buildApp(testConfig({ DATABASE_URL: env.databaseUrl, KEY_ENCRYPTION_SECRET: 'another-secret-entirely' }), { logger: false }),
    /KEY_ENCRYPTION_SECRET/,
  );
});

t.test('livez and readyz', async (t) => {
  const env = await createEnvironment(t, { seed: false });
  const app = await env.build();
  t.same((await app.inject({ url: '/livez' })).json(), { status: 'ok' });
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ok', checks: { postgresql: 'ok', redis: 'ok' } });
  const notFound = await app.inject({ url: '/nope' });
  t.equal(notFound.statusCode, 404);
  t.equal(notFound.json().error, 'not_found');
});
