// Key discovery and caching: RFC 8414 §3 metadata (issuer check), jwks_uri keys cached with a rate-limited
// refetch on unknown kid (key rotation), and "AS unreachable" answered 503, never 401. Outages past the
// caches' max age (stale-if-error, back-off): remote-key-set.test.ts.
import t from 'tap';
import {
  AccessTokenVerifier,
  InvalidTokenError,
  KeySourceUnavailableError,
} from '../../src/lib/access-token-verifier.js';
import { FakeAuthorizationServer, RESOURCE_ID, bearer, createSigningKey, setup, sleep, until } from '../helper.js';

const COOLDOWN = 300;
// The back-off after a failed fetch, shortened so the recovery tests need not wait a second.
const RETRY = 100;

t.test(
  'an unknown kid triggers exactly one JWKS refetch, rate-limited by the cooldown; rotation is picked up',
  async (t) => {
    const { app, as } = await setup(t, { verifier: { cooldownDuration: COOLDOWN } });
    const get = async (token: string) => app.inject({ method: 'GET', url: '/photos', headers: bearer(token) });

    t.equal(as.metadataRequests, 0, 'discovery is lazy: nothing fetched at start');
    t.equal((await get(await as.token())).statusCode, 200);
    t.equal(as.metadataRequests, 1);
    t.equal(as.jwksRequests, 1);
    t.equal((await get(await as.token())).statusCode, 200);
    t.equal(as.jwksRequests, 1, 'keys are cached');
    t.equal(as.metadataRequests, 1, 'metadata is cached');

    await sleep(COOLDOWN + 50);
    const stranger = await createSigningKey();
    const unknown = await get(await as.token({ key: stranger }));
    t.equal(unknown.statusCode, 401);
    t.match(
      unknown.headers['www-authenticate'],
      /error="invalid_token", error_description="The access token is signed with a key the authorization server does not publish."/,
    );
    t.equal(as.jwksRequests, 2, 'exactly one refetch for the unknown kid');
    t.equal((await get(await as.token({ key: stranger }))).statusCode, 401);
    t.equal(as.jwksRequests, 2, 'no second refetch within the cooldown');

    // Rotation: the AS publishes a new key and signs with it; within the cooldown we cannot know it yet…
    const oldKey = as.current;
    await as.addKey();
    t.equal((await get(await as.token())).statusCode, 401, 'still cooling down');
    t.equal(as.jwksRequests, 2);
    // …after it, the first token with the new kid fetches the new set — no restart needed.
    await sleep(COOLDOWN + 50);
    t.equal((await get(await as.token())).statusCode, 200, 'new key picked up');
    t.equal(as.jwksRequests, 3);
    t.equal(
      (await get(await as.token({ key: oldKey }))).statusCode,
      200,
      'the old key still verifies while it is published',
    );
    t.equal(as.jwksRequests, 3);
  },
);

t.test(
  'AS unreachable: 503 + Retry-After (not 401), the RS keeps serving other things, and recovers by itself',
  async (t) => {
    const { app, as } = await setup(t, { verifier: { retryDelay: RETRY } });
    const token = await as.token();
    await as.stop();

    t.equal((await app.inject({ method: 'GET', url: '/livez' })).statusCode, 200, 'the RS runs while the AS is down');
    const res = await app.inject({ method: 'GET', url: '/photos', headers: bearer(token) });
    t.equal(res.statusCode, 503);
    t.equal(res.headers['retry-after'], '5');
    t.equal(res.headers['www-authenticate'], undefined, 'not an authentication failure');
    t.equal(res.headers['cache-control'], 'no-store');
    t.same(res.json(), {
      error: 'temporarily_unavailable',
      error_description: 'The authorization server keys cannot be fetched right now; try again shortly.',
    });

    const malformed = await app.inject({ method: 'GET', url: '/photos', headers: bearer('garbage') });
    t.equal(malformed.statusCode, 401, 'a token that cannot be valid is still rejected while the AS is down');

    await as.listen();
    const backingOff = await app.inject({ method: 'GET', url: '/photos', headers: bearer(token) });
    t.equal(backingOff.statusCode, 503, 'within the back-off after the failure: not retried yet');
    t.equal(as.metadataRequests, 0, 'no request reached the AS during the back-off');
    await sleep(RETRY + 50);
    t.equal(
      (await app.inject({ method: 'GET', url: '/photos', headers: bearer(token) })).statusCode,
      200,
      'recovered without restart',
    );
  },
);

t.test('JWKS endpoint failing: 503', async (t) => {
  const { app, as } = await setup(t, { verifier: { retryDelay: RETRY } });
  as.jwksStatus = 500;
  const res = await app.inject({ method: 'GET', url: '/photos', headers: bearer(await as.token()) });
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '5');
  as.jwksStatus = 200;
  await sleep(RETRY + 50);
  t.equal((await app.inject({ method: 'GET', url: '/photos', headers: bearer(await as.token()) })).statusCode, 200);
});

async function verifierFor(
  t: { teardown(fn: () => unknown): void },
  options: Partial<ConstructorParameters<typeof AccessTokenVerifier>[0]> = {},
) {
  const as = await FakeAuthorizationServer.start();
  t.teardown(() => as.stop());
  const verifier = new AccessTokenVerifier({ issuer: as.issuer, audience: RESOURCE_ID, clockTolerance: 5, ...options });
  return { as, verifier };
}

t.test('metadata whose issuer differs from AUTHORIZATION_SERVER is refused (RFC 8414 §3.3)', async (t) => {
  const { as, verifier } = await verifierFor(t, { retryDelay: RETRY });
  as.metadataOverride = { issuer: 'http://evil.example' };
  await t.rejects(verifier.verify(await as.token()), {
    name: 'KeySourceUnavailableError',
    message: /issuer "http:\/\/evil.example" does not match/,
  });
  t.equal(as.jwksRequests, 0, 'keys of an unverified issuer are never fetched');
  as.metadataOverride = null;
  await sleep(RETRY + 50);
  t.match(
    await verifier.verify(await as.token()),
    { sub: String, clientId: 'demo-client' },
    'not cached: fixed metadata is used after the back-off',
  );
});

t.test('metadata without a usable jwks_uri is refused', async (t) => {
  const { as, verifier } = await verifierFor(t);
  as.metadataOverride = { jwks_uri: 'not a url' };
  await t.rejects(verifier.verify(await as.token()), KeySourceUnavailableError);
  as.metadataOverride = { jwks_uri: undefined };
  await t.rejects(verifier.verify(await as.token()), KeySourceUnavailableError);
});

t.test('in production the jwks_uri must be https', async (t) => {
  const { as, verifier } = await verifierFor(t, { requireHttps: true });
  await t.rejects(verifier.verify(await as.token()), KeySourceUnavailableError);
});

t.test(
  'metadata past its max age is refreshed in the background; a failed refresh keeps the old one; the key cache survives',
  async (t) => {
    let now = Date.now();
    const { as, verifier } = await verifierFor(t, { metadataMaxAge: 60_000, now: () => now });
    await verifier.verify(await as.token());
    t.equal(as.metadataRequests, 1);
    now += 61_000;
    await verifier.verify(await as.token());
    await until(() => as.metadataRequests === 2, 'the background refresh');
    await sleep(20);
    t.equal(as.jwksRequests, 1, 'same jwks_uri: the cached keys are kept');
    now += 61_000;
    as.metadataOverride = { issuer: 'http://evil.example' };
    const claims = await verifier.verify(await as.token());
    t.equal(claims.clientId, 'demo-client', 'answered with the metadata we had');
    await until(() => as.metadataRequests === 3, 'the refresh that fails');
    await sleep(20);
    t.equal(
      (await verifier.verify(await as.token())).clientId,
      'demo-client',
      'a failed refresh falls back to the metadata we had',
    );
    t.equal(as.metadataRequests, 3, 'and is not retried during the back-off');
  },
);

t.test('a jwks_uri changed by a metadata refresh starts a new key cache', async (t) => {
  let now = Date.now();
  const { as, verifier } = await verifierFor(t, { metadataMaxAge: 60_000, now: () => now });
  await verifier.verify(await as.token());
  as.metadataOverride = { jwks_uri: `${as.issuer}/.well-known/jwks.json?v=2` };
  now += 61_000;
  await verifier.verify(await as.token());
  await until(() => as.metadataRequests === 2, 'the background refresh');
  await sleep(20);
  t.equal(as.jwksRequests, 1);
  await verifier.verify(await as.token());
  t.equal(as.jwksRequests, 2, 'the keys are fetched from the new jwks_uri');
});

t.test('concurrent first requests share one discovery', async (t) => {
  const { as, verifier } = await verifierFor(t);
  const tokens = await Promise.all([as.token(), as.token(), as.token()]);
  await Promise.all(tokens.map((tok) => verifier.verify(tok)));
  t.equal(as.metadataRequests, 1);
  t.equal(as.jwksRequests, 1);
});

t.test('a metadata response that is not JSON counts as unavailable', async (t) => {
  const { as, verifier } = await verifierFor(t, {
    fetch: async (input, init) =>
      String(input).includes('oauth-authorization-server')
        ? new Response('<html>', { status: 200 })
        : fetch(input, init),
  });
  await t.rejects(verifier.verify(await as.token()), KeySourceUnavailableError);
});

t.test('verify returns the token claims camelCased with scopes split', async (t) => {
  const { as, verifier } = await verifierFor(t);
  const token = await as.token({ claims: { scope: ' photos:read  documents:read ' } });
  const claims = await verifier.verify(token);
  t.same(claims.scopes, ['photos:read', 'documents:read']);
  t.equal(claims.clientId, 'demo-client');
  await t.rejects(verifier.verify('x.y.z'), InvalidTokenError);
});

t.test('a trailing slash on AUTHORIZATION_SERVER is not doubled in the metadata URL', async (t) => {
  const v = new AccessTokenVerifier({ issuer: 'http://as.example/', audience: RESOURCE_ID, clockTolerance: 0 });
  t.equal(v.metadataUrl, 'http://as.example/.well-known/oauth-authorization-server');
});
