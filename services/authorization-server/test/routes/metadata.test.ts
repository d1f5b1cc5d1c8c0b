// RFC 8414 metadata, the JWKS, and signing keys that outlive a restart and are created once.
import t from 'tap';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { needsRealDatabase } from '@quartet/testing';
import { KeyManager } from '../../src/stores/signing-keys.js';
import { createEnvironment } from '../helper.js';
import { obtainCode, tokenRequest, DEMO_REDIRECT } from '../browser.js';

// One environment and app for the file (an embedded database takes seconds to open); tests that change the
// keys or restart come last.
const env = await createEnvironment(t);
const app = await env.build();

t.test('metadata lists the endpoints and capabilities (RFC 8414 §2, RFC 9207 §3)', async (t) => {
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
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
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

t.test('metadata advertises the new endpoints and grants (RFC 8414)', async (t) => {
  const meta = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  t.equal(meta.revocation_endpoint, `${app.config.ISSUER}/oauth/revoke`);
  t.equal(meta.introspection_endpoint, `${app.config.ISSUER}/oauth/introspect`);
  t.same(meta.grant_types_supported, [
    'authorization_code',
    'refresh_token',
    'client_credentials',
    'urn:ietf:params:oauth:grant-type:device_code',
  ]);
  t.equal(meta.device_authorization_endpoint, `${app.config.ISSUER}/oauth/device_authorization`, 'RFC 8628 §4');
  t.same(meta.introspection_endpoint_auth_methods_supported, [
    'client_secret_basic',
    'client_secret_post',
    'private_key_jwt',
  ]);
  // RFC 9126 §5: the PAR endpoint, and PAR not required unless REQUIRE_PUSHED_AUTHORIZATION_REQUESTS.
  t.equal(meta.pushed_authorization_request_endpoint, `${app.config.ISSUER}/oauth/par`);
  t.equal(meta.require_pushed_authorization_requests, false);
  // CLIENT_REGISTRATION is off by default: no registration endpoint (RFC 7591), advertised or served.
  t.notOk('registration_endpoint' in meta);
  t.equal((await app.inject({ method: 'POST', url: '/oauth/register', payload: {} })).statusCode, 404);
});

// Two processes on one database: only a server has several openers (an embedded folder has one).
t.test(
  'two instances starting at once on an empty database create a single key',
  { skip: needsRealDatabase },
  async (t) => {
    const empty = await createEnvironment(t, { seed: false });
    const [a, b] = await Promise.all([empty.build(), empty.build()]);
    t.same(a.keys.jwks(), b.keys.jwks());
    t.equal(await a.prisma.signingKey.count(), 1);
  },
);

t.test('livez and readyz', async (t) => {
  t.same((await app.inject({ url: '/livez' })).json(), { status: 'ok' });
  const ready = await app.inject({ url: '/readyz' });
  t.equal(ready.statusCode, 200);
  t.same(ready.json(), { status: 'ok', checks: { postgresql: 'ok', redis: 'ok' } });
  const notFound = await app.inject({ url: '/nope' });
  t.equal(notFound.statusCode, 404);
  t.equal(notFound.json().error, 'not_found');
});

// The same race inside one process, so it also runs on PGlite: the advisory transaction lock
// (pg_advisory_xact_lock) must work there too and be released at commit.
t.test('concurrent key loads on a database without keys create a single key, and release the lock', async (t) => {
  await app.prisma.signingKey.deleteMany();
  const managers = await Promise.all(
    [1, 2, 3].map(() => KeyManager.load(app.prisma, app.config.KEY_ENCRYPTION_SECRET)),
  );
  t.equal(await app.prisma.signingKey.count(), 1);
  const kid = managers[0]!.signingKey().kid;
  for (const m of managers) t.equal(m.signingKey().kid, kid, 'every loader signs with the one key');
  const held = await app.prisma.$queryRaw<Array<{ n: number }>>`
    SELECT count(*)::int AS n FROM pg_locks
    WHERE locktype = 'advisory' AND objid = 4207001
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
  t.equal(held[0]?.n, 0, 'the transaction-level advisory lock is gone after commit');
});

// Runs last: it restarts the app (embedded, one opener at a time, so the shared one is closed first).
t.test(
  'a restart keeps the keys (a token issued before verifies); a wrong KEY_ENCRYPTION_SECRET stops the start',
  async (t) => {
    await app.close();
    const first = await env.build();
    const { code, verifier } = await obtainCode(first);
    const token = (
      await tokenRequest(
        first,
        { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT },
        { basic: ['demo-client', env.config.DEMO_CLIENT_SECRET] },
      )
    ).json().access_token as string;
    await first.close();

    // A wrong KEY_ENCRYPTION_SECRET stops the start with a clear message; the failed start closes the database
    // (embedded, one left open would keep its lock and refuse the next opener).
    await t.rejects(env.build({ KEY_ENCRYPTION_SECRET: 'another-secret-entirely' }), /KEY_ENCRYPTION_SECRET/);

    const second = await env.build();
    const jwks = createLocalJWKSet((await second.inject({ url: '/.well-known/jwks.json' })).json());
    const { payload } = await jwtVerify(token, jwks, {
      issuer: env.config.ISSUER,
      audience: env.config.RESOURCE_AUDIENCE,
      typ: 'at+jwt',
    });
    t.equal(payload.client_id, 'demo-client');
    t.equal(await second.prisma.signingKey.count(), 1);
  },
);
