// DPoP at the resource server (RFC 9449 §7), at the HTTP level with real jose tokens and proofs: each refusal
// gets its exact status, error and WWW-Authenticate challenges (§7.1: `DPoP error=…, algs=…`; §7.2: both
// accepted schemes listed), and counts under its metric reason. The jti replay guard runs on Redis with
// TEST_REDIS_URL (shared by two instances), else in-process.
import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { RETRY_AFTER_SECONDS } from '@quartet/common';
import { createRedisPrefix, realRedis, scrapeMetrics } from '@quartet/testing';
import {
  CLIENT_TOKEN_DESCRIPTION,
  DPOP_BOUND_AS_BEARER_DESCRIPTION,
  DPOP_MISSING_PROOF_DESCRIPTION,
  DPOP_REQUIRED_DESCRIPTION,
  DPOP_UNBOUND_DESCRIPTION,
} from '../../src/plugins/token-verifier.js';
import { ALICE, RESOURCE_ID, bearer, createDpopKey, dpop, dpopProof, setup, type DpopKey } from '../helper.js';

const REALM = 'realm="quartet-resource-server"';
const METADATA = 'resource_metadata="http://localhost:9100/.well-known/oauth-protected-resource"';
const ALGS = 'algs="ES256 ES384 EdDSA Ed25519 PS256 PS384"';
const BEARER_BARE = `Bearer ${REALM}, ${METADATA}`;
const DPOP_BARE = `DPoP ${REALM}, ${ALGS}, ${METADATA}`;
const PHOTOS = `${RESOURCE_ID}/photos`;
const REPLAYED = 'This DPoP proof was already used; make a new one for each request.';

const redis = createRedisPrefix('rs-dpop');
t.teardown(() => redis.cleanup());
const { app, as } = await setup(t, { env: redis.env });
const key = await createDpopKey();

/** A token for alice bound to `bound` (RFC 9449 §6.1 cnf.jkt). */
const boundToken = (bound: DpopKey = key, claims: Record<string, unknown> = {}) =>
  as.token({ claims: { cnf: { jkt: bound.jkt }, ...claims } });

/** The challenges of an error in the DPoP scheme, then the bare Bearer one (RFC 9449 §7.1, §7.2). */
function dpopError(error: string, description: string, extra = '', bearerAccepted = true): string {
  const own = `DPoP ${REALM}, error="${error}", error_description="${description}"${extra}, ${ALGS}, ${METADATA}`;
  return bearerAccepted ? `${own}, ${BEARER_BARE}` : own;
}

const series = (reason: string) => `quartet_token_verification_failures_total{reason="${reason}"}`;

interface Expected {
  status: number;
  error: string;
  /** The exact error_description, in the body and the challenge. */
  description: string;
  reason: string;
  extra?: string;
  bearerAccepted?: boolean;
}

/** Sends the request and checks status, body, the exact challenges, no-store and the metric reason. */
async function expectRefusal(
  t: Test,
  request: { method?: 'GET' | 'POST'; url?: string; headers: Record<string, string>; payload?: object },
  expected: Expected,
  target: FastifyInstance = app,
) {
  const before = await scrapeMetrics(target);
  const res = await target.inject({ method: request.method ?? 'GET', url: request.url ?? '/photos', ...request });
  t.equal(res.statusCode, expected.status, 'status');
  const body = res.json() as { error: string; error_description: string };
  t.equal(body.error, expected.error, 'error');
  t.equal(body.error_description, expected.description, 'error_description');
  t.equal(
    res.headers['www-authenticate'],
    dpopError(expected.error, expected.description, expected.extra, expected.bearerAccepted),
    'challenges',
  );
  t.equal(res.headers['cache-control'], 'no-store');
  const after = await scrapeMetrics(target);
  t.equal((after.get(series(expected.reason)) ?? NaN) - (before.get(series(expected.reason)) ?? NaN), 1, 'reason');
}

const invalidProof = (description: string, reason = 'dpop_proof'): Expected => ({
  status: 401,
  error: 'invalid_dpop_proof',
  description,
  reason,
});

t.test('a bound token with a valid proof is accepted, on GET and POST', async (t) => {
  const token = await boundToken();
  const res = await app.inject({
    method: 'GET',
    url: '/photos',
    headers: dpop(token, await dpopProof(key, 'GET', PHOTOS, token)),
  });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { photos: [] });
  const created = await app.inject({
    method: 'POST',
    url: '/documents',
    headers: dpop(token, await dpopProof(key, 'POST', `${RESOURCE_ID}/documents`, token)),
    payload: { title: 'DPoP', content: 'bound' },
  });
  t.equal(created.statusCode, 201);
  t.equal(created.json().title, 'DPoP');
});

t.test('the scheme name is case-insensitive (RFC 9110 §11.1)', async (t) => {
  const token = await boundToken();
  const headers = { authorization: `dpop ${token}`, dpop: await dpopProof(key, 'GET', PHOTOS, token) };
  t.equal((await app.inject({ method: 'GET', url: '/photos', headers })).statusCode, 200);
});

t.test('htu is compared without query and fragment (RFC 9449 §4.3 step 9)', async (t) => {
  const token = await boundToken();
  for (const htu of [PHOTOS, `${PHOTOS}?page=2`, `${PHOTOS}#top`]) {
    const res = await app.inject({
      method: 'GET',
      url: '/photos?page=1',
      headers: dpop(token, await dpopProof(key, 'GET', htu, token)),
    });
    t.equal(res.statusCode, 200, htu);
  }
});

t.test('every accepted algorithm of the list works (ES256, EdDSA, PS256)', async (t) => {
  for (const alg of ['ES256', 'EdDSA', 'PS256']) {
    const algKey = await createDpopKey(alg);
    const token = await boundToken(algKey);
    const res = await app.inject({
      method: 'GET',
      url: '/photos',
      headers: dpop(token, await dpopProof(algKey, 'GET', PHOTOS, token, { alg })),
    });
    t.equal(res.statusCode, 200, alg);
  }
});

t.test('a DPoP-bound token sent as a Bearer token: 401 invalid_token in the DPoP challenge (§7.2)', async (t) => {
  const token = await boundToken();
  const description = DPOP_BOUND_AS_BEARER_DESCRIPTION;
  const expected = { status: 401, error: 'invalid_token', description, reason: 'dpop_bound_bearer' };
  await expectRefusal(t, { headers: bearer(token) }, expected);
  // A proof alongside does not help: the Bearer scheme skips the binding check by definition.
  await expectRefusal(t, { headers: { ...bearer(token), dpop: await dpopProof(key, 'GET', PHOTOS, token) } }, expected);
});

t.test('the DPoP scheme with a token that is not bound (no cnf): 401 invalid_token', async (t) => {
  const token = await as.token();
  await expectRefusal(
    t,
    { headers: dpop(token, await dpopProof(key, 'GET', PHOTOS, token)) },
    { status: 401, error: 'invalid_token', description: DPOP_UNBOUND_DESCRIPTION, reason: 'dpop_unbound' },
  );
});

t.test('a cnf we cannot check (no jkt, e.g. mTLS x5t#S256) is refused under either scheme', async (t) => {
  const token = await as.token({ claims: { cnf: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } } });
  const res = await app.inject({ method: 'GET', url: '/photos', headers: bearer(token) });
  t.equal(res.statusCode, 401);
  t.equal(res.json().error, 'invalid_token');
  t.equal(
    res.json().error_description,
    'The access token has a cnf claim without a jkt (only DPoP binding is supported).',
  );
  t.match(res.headers['www-authenticate'], /^Bearer realm="quartet-resource-server", error="invalid_token", /);
});

t.test('the DPoP scheme without a DPoP header: 401 invalid_dpop_proof', async (t) => {
  const token = await boundToken();
  await expectRefusal(t, { headers: { authorization: `DPoP ${token}` } }, invalidProof(DPOP_MISSING_PROOF_DESCRIPTION));
});

t.test('a proof signed by another key than the bound one: 401 invalid_dpop_proof', async (t) => {
  const token = await boundToken();
  const thief = await createDpopKey();
  await expectRefusal(
    t,
    { headers: dpop(token, await dpopProof(thief, 'GET', PHOTOS, token)) },
    invalidProof('The DPoP proof is signed with a key other than the one the token is bound to.'),
  );
});

t.test('a wrong htm: 401 invalid_dpop_proof', async (t) => {
  const token = await boundToken();
  await expectRefusal(
    t,
    { headers: dpop(token, await dpopProof(key, 'POST', PHOTOS, token)) },
    invalidProof("The DPoP proof's htm must be GET."),
  );
});

t.test('a wrong htu (another path, another origin, the Host the request names): 401 invalid_dpop_proof', async (t) => {
  const token = await boundToken();
  for (const htu of [`${RESOURCE_ID}/documents`, 'http://127.0.0.1:9100/photos', 'https://localhost:9100/photos']) {
    const headers = { ...dpop(token, await dpopProof(key, 'GET', htu, token)), host: '127.0.0.1:9100' };
    await expectRefusal(t, { headers }, invalidProof("The DPoP proof's htu does not match this request's URL."));
  }
});

t.test('a replayed proof (same jti): the first use passes, the second is 401 invalid_dpop_proof', async (t) => {
  const token = await boundToken();
  const proof = await dpopProof(key, 'GET', PHOTOS, token);
  t.equal((await app.inject({ method: 'GET', url: '/photos', headers: dpop(token, proof) })).statusCode, 200);
  await expectRefusal(t, { headers: dpop(token, proof) }, invalidProof(REPLAYED, 'dpop_replay'));
});

t.test('a proof without ath, or with the ath of another token: 401 invalid_dpop_proof', async (t) => {
  const token = await boundToken();
  const other = await boundToken();
  await expectRefusal(
    t,
    { headers: dpop(token, await dpopProof(key, 'GET', PHOTOS)) },
    invalidProof('The DPoP proof must carry ath, the hash of the access token.'),
  );
  await expectRefusal(
    t,
    { headers: dpop(token, await dpopProof(key, 'GET', PHOTOS, other)) },
    invalidProof("The DPoP proof's ath does not match the access token."),
  );
});

t.test(
  'a proof too old for DPOP_PROOF_LIFETIME, or with typ other than dpop+jwt: 401 invalid_dpop_proof',
  async (t) => {
    const token = await boundToken();
    const old = await dpopProof(key, 'GET', PHOTOS, token, { claims: { iat: Math.floor(Date.now() / 1000) - 600 } });
    await expectRefusal(
      t,
      { headers: dpop(token, old) },
      invalidProof('The DPoP proof is too old; make a new one for each request.'),
    );
    const typ = await dpopProof(key, 'GET', PHOTOS, token, { header: { typ: 'JWT' } });
    await expectRefusal(t, { headers: dpop(token, typ) }, invalidProof('The DPoP proof must have typ dpop+jwt.'));
  },
);

t.test('a token defect under the DPoP scheme: 401 invalid_token in the DPoP challenge', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const token = await boundToken(key, { iat: now - 600, exp: now - 300 });
  await expectRefusal(
    t,
    { headers: dpop(token, await dpopProof(key, 'GET', PHOTOS, token)) },
    { status: 401, error: 'invalid_token', description: 'The access token expired.', reason: 'expired' },
  );
});

t.test('a malformed DPoP Authorization header: 400 invalid_request in the DPoP challenge', async (t) => {
  for (const authorization of ['DPoP', 'DPoP two tokens']) {
    await expectRefusal(
      t,
      { headers: { authorization, dpop: 'x' } },
      {
        status: 400,
        error: 'invalid_request',
        description: 'The Authorization header must be DPoP followed by one access token.',
        reason: 'malformed_request',
      },
    );
  }
});

t.test('scope and person checks answer in the DPoP challenge too (403 insufficient_scope)', async (t) => {
  const token = await boundToken(key, { scope: 'photos:read' });
  const url = `${RESOURCE_ID}/documents`;
  const res = await app.inject({
    method: 'GET',
    url: '/documents',
    headers: dpop(token, await dpopProof(key, 'GET', url, token)),
  });
  t.equal(res.statusCode, 403);
  const description = 'This request requires the documents:read scope.';
  t.equal(res.headers['www-authenticate'], dpopError('insufficient_scope', description, ', scope="documents:read"'));
  const client = await boundToken(key, { sub: 'demo-client' });
  const own = await app.inject({
    method: 'GET',
    url: '/photos',
    headers: dpop(client, await dpopProof(key, 'GET', PHOTOS, client)),
  });
  t.equal(own.statusCode, 403);
  t.equal(own.headers['www-authenticate'], dpopError('insufficient_scope', CLIENT_TOKEN_DESCRIPTION));
});

t.test('no credentials: both schemes are challenged, bare (RFC 6750 §3.1, RFC 9449 §7.2)', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/photos' });
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], `${BEARER_BARE}, ${DPOP_BARE}`);
});

t.test('a RESOURCE_ID with a path: htu is that identifier plus the request path', async (t) => {
  const resourceId = 'http://localhost:9100/quartet';
  const { app: pathApp, as: pathAs } = await setup(t, { config: { RESOURCE_ID: resourceId } });
  const token = await pathAs.token({ claims: { aud: resourceId, cnf: { jkt: key.jkt } } });
  const ok = await pathApp.inject({
    method: 'GET',
    url: '/photos',
    headers: dpop(token, await dpopProof(key, 'GET', `${resourceId}/photos`, token)),
  });
  t.equal(ok.statusCode, 200);
  const bare = await pathApp.inject({
    method: 'GET',
    url: '/photos',
    headers: dpop(token, await dpopProof(key, 'GET', PHOTOS, token)),
  });
  t.equal(bare.statusCode, 401);
  t.equal(bare.json().error, 'invalid_dpop_proof');
});

t.test(
  'PROFILE=fapi2: only DPoP, and proofs signed with PS256, ES256 or EdDSA (FAPI 2.0 §5.3.3, §5.4.1)',
  async (t) => {
    const { app: fapi2, as: fapi2As } = await setup(t, { config: { PROFILE: 'fapi2', DPOP_REQUIRED: true } });
    const FAPI2_ALGS = 'algs="ES256 PS256 EdDSA Ed25519"';
    const none = await fapi2.inject({ method: 'GET', url: '/photos' });
    t.equal(none.statusCode, 401);
    t.equal(none.headers['www-authenticate'], `DPoP ${REALM}, ${FAPI2_ALGS}, ${METADATA}`, 'only DPoP, fewer algs');
    const es384 = await createDpopKey('ES384');
    const token = await fapi2As.token({ claims: { cnf: { jkt: es384.jkt }, sub: ALICE } });
    const description = 'The DPoP proof is signed with an algorithm not allowed.';
    const refused = await fapi2.inject({
      method: 'GET',
      url: '/photos',
      headers: dpop(token, await dpopProof(es384, 'GET', PHOTOS, token, { alg: 'ES384' })),
    });
    t.equal(refused.statusCode, 401);
    t.same(refused.json(), { error: 'invalid_dpop_proof', error_description: description });
    t.equal(
      refused.headers['www-authenticate'],
      `DPoP ${REALM}, error="invalid_dpop_proof", error_description="${description}", ${FAPI2_ALGS}, ${METADATA}`,
    );
    const bound = await as.token({ claims: { cnf: { jkt: es384.jkt }, sub: ALICE } });
    const ok = await app.inject({
      method: 'GET',
      url: '/photos',
      headers: dpop(bound, await dpopProof(es384, 'GET', PHOTOS, bound, { alg: 'ES384' })),
    });
    t.equal(ok.statusCode, 200, 'the same ES384 proof is accepted under the default profile');
  },
);

t.test('DPOP_REQUIRED: Bearer tokens are refused, bound or not; only the DPoP scheme is challenged', async (t) => {
  const { app: strict, as: strictAs } = await setup(t, { config: { DPOP_REQUIRED: true } });
  const refusedBearer = {
    status: 401,
    error: 'invalid_token',
    description: DPOP_REQUIRED_DESCRIPTION,
    reason: 'dpop_required',
    bearerAccepted: false,
  };
  await expectRefusal(t, { headers: bearer(await strictAs.token()) }, refusedBearer, strict);
  await expectRefusal(
    t,
    { headers: bearer(await strictAs.token({ claims: { cnf: { jkt: key.jkt } } })) },
    refusedBearer,
    strict,
  );
  const unbound = await strictAs.token();
  await expectRefusal(
    t,
    { headers: dpop(unbound, await dpopProof(key, 'GET', PHOTOS, unbound)) },
    {
      status: 401,
      error: 'invalid_token',
      description: DPOP_UNBOUND_DESCRIPTION,
      reason: 'dpop_unbound',
      bearerAccepted: false,
    },
    strict,
  );
  const none = await strict.inject({ method: 'GET', url: '/photos' });
  t.equal(none.statusCode, 401);
  t.equal(none.headers['www-authenticate'], DPOP_BARE);
  t.same(none.json(), {
    error: 'unauthorized',
    error_description: 'This resource requires a DPoP-bound access token with a DPoP proof.',
  });
  const token = await strictAs.token({ claims: { cnf: { jkt: key.jkt }, sub: ALICE } });
  const ok = await strict.inject({
    method: 'GET',
    url: '/photos',
    headers: dpop(token, await dpopProof(key, 'GET', PHOTOS, token)),
  });
  t.equal(ok.statusCode, 200);
});

t.test(
  'the jti guard is capped (MAX_DPOP_PROOFS): when full, 503 + Retry-After, never a proof let through',
  async (t) => {
    const capped = createRedisPrefix('rs-dpop-cap');
    t.teardown(() => capped.cleanup());
    const { app: small, as: smallAs } = await setup(t, { env: capped.env, config: { MAX_DPOP_PROOFS: 100 } });
    const token = await smallAs.token({ claims: { cnf: { jkt: key.jkt } } });
    for (let i = 0; i < 100; i++) {
      const res = await small.inject({
        method: 'GET',
        url: '/photos',
        headers: dpop(token, await dpopProof(key, 'GET', PHOTOS, token)),
      });
      if (res.statusCode !== 200) t.fail(`proof ${i}: ${res.statusCode}`);
    }
    const full = await small.inject({
      method: 'GET',
      url: '/photos',
      headers: dpop(token, await dpopProof(key, 'GET', PHOTOS, token)),
    });
    t.equal(full.statusCode, 503);
    t.equal(full.headers['retry-after'], String(RETRY_AFTER_SECONDS));
    t.equal(full.json().error, 'temporarily_unavailable');
    // Bearer tokens do not need the guard and keep working.
    t.equal(
      (await small.inject({ method: 'GET', url: '/photos', headers: bearer(await smallAs.token()) })).statusCode,
      200,
    );
  },
);

t.test(
  'with Redis a proof used at one instance is refused at another (RFC 9449 §11.1)',
  { skip: !realRedis && 'needs TEST_REDIS_URL' },
  async (t) => {
    const { app: second } = await setup(t, { env: { ...redis.env, AUTHORIZATION_SERVER: as.issuer } });
    const token = await boundToken();
    const proof = await dpopProof(key, 'GET', PHOTOS, token);
    t.equal((await app.inject({ method: 'GET', url: '/photos', headers: dpop(token, proof) })).statusCode, 200);
    await expectRefusal(t, { headers: dpop(token, proof) }, invalidProof(REPLAYED, 'dpop_replay'), second);
  },
);
