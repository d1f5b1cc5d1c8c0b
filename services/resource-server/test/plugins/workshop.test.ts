// Workshop mode: with a W3C traceparent, every Bearer check is recorded at GET /workshop/traces/:traceId —
// reading the token, fetching metadata/JWKS only when needed, the signature and claim checks, the scope —
// and every rejection with its RFC 6750 error. Tokens never appear in a trace. Off: 404 and nothing recorded.
import t from 'tap';
import { formatTraceparent, newTraceContext, type TraceStep } from '@quartet/common';
import { TEST_TRACE_SECRET } from '@quartet/testing';
import { CLIENT_TOKEN_DESCRIPTION } from '../../src/plugins/token-verifier.js';
import { RESOURCE_ID, b64url, bearer, setup } from '../helper.js';

function newTrace() {
  const context = newTraceContext(TEST_TRACE_SECRET);
  return { traceId: context.traceId, headers: { traceparent: formatTraceparent(context) } };
}

t.test('workshop mode on', async (t) => {
  const { app, as } = await setup(t, { env: { WORKSHOP_MODE: 'true' }, verifier: { cooldownDuration: 0 } });
  const tokens: string[] = [];
  const traceIds: string[] = [];

  async function call(token: string | null, url = '/photos') {
    const trace = newTrace();
    traceIds.push(trace.traceId);
    if (token) tokens.push(token);
    const res = await app.inject({ url, headers: { ...trace.headers, ...(token ? bearer(token) : {}) } });
    const doc = await app.inject(`/workshop/traces/${trace.traceId}`);
    t.equal(doc.statusCode, 200);
    t.equal(doc.json().service, 'resource-server');
    const steps: TraceStep[] = doc.json().steps;
    t.ok(steps.every((s) => s.role === 'resource server'));
    return { res, steps, titles: steps.map((s) => s.title) };
  }

  t.test('first call: metadata and JWKS fetched; then the cached keys, no call to the AS', async (t) => {
    const kid = as.current.kid;
    const first = await call(await as.token());
    t.equal(first.res.statusCode, 200);
    t.same(first.titles, [
      'Access token read from the Authorization header',
      'Authorization server metadata fetched',
      `JWKS fetched because kid ${kid} was unknown`,
      `Signature verified with key kid=${kid} (ES256)`,
      'iss/aud/typ/exp checked',
      'Scope photos:read granted',
    ]);
    t.same(
      first.steps.map((s) => s.at),
      first.steps.map((s) => s.at).sort(),
      'in time order',
    );
    const jwksBefore = as.jwksRequests;

    const second = await call(await as.token());
    t.equal(second.res.statusCode, 200);
    t.same(second.titles, [
      'Access token read from the Authorization header',
      `Signature verified with key kid=${kid} (ES256) using the cached JWKS — no call to the authorization server`,
      'iss/aud/typ/exp checked',
      'Scope photos:read granted',
    ]);
    t.ok(second.steps.every((s) => s.outcome === 'ok'));
    t.equal(as.jwksRequests, jwksBefore, 'really no JWKS request');
  });

  t.test('a rotated-in key: JWKS fetched because its kid was unknown', async (t) => {
    const key = await as.addKey();
    const { res, titles } = await call(await as.token());
    t.equal(res.statusCode, 200);
    t.same(titles.slice(0, 3), [
      'Access token read from the Authorization header',
      `JWKS fetched because kid ${key.kid} was unknown`,
      `Signature verified with key kid=${key.kid} (ES256)`,
    ]);
  });

  t.test('alg none: invalid_token with the reason', async (t) => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: as.issuer,
      sub: 'a11ce000-0000-4000-8000-000000000001',
      aud: RESOURCE_ID,
      client_id: 'demo-client',
      scope: 'photos:read',
      jti: 'j',
      iat: now,
      exp: now + 60,
    };
    const token = `${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url(claims)}.`;
    const { res, steps } = await call(token);
    t.equal(res.statusCode, 401);
    t.same(
      steps.map((s) => [s.title, s.outcome]),
      [
        ['Access token read from the Authorization header', 'ok'],
        ['Rejected: invalid_token', 'rejected'],
      ],
    );
    t.equal(
      steps[1]!.detail,
      'HTTP 401: The access token is signed with an algorithm that is not accepted (only ES256).',
    );
  });

  t.test('wrong aud: invalid_token with the reason', async (t) => {
    const { res, steps } = await call(await as.token({ claims: { aud: 'https://elsewhere.example' } }));
    t.equal(res.statusCode, 401);
    t.same(steps.at(-1), {
      at: steps.at(-1)!.at,
      role: 'resource server',
      title: 'Rejected: invalid_token',
      detail: 'HTTP 401: The access token is not meant for this resource server.',
      outcome: 'rejected',
    });
  });

  t.test('missing scope: insufficient_scope naming the scope needed', async (t) => {
    const { res, titles, steps } = await call(await as.token({ claims: { scope: 'documents:read' } }));
    t.equal(res.statusCode, 403);
    t.same(titles.slice(-2), ['iss/aud/typ/exp checked', 'Rejected: insufficient_scope']);
    t.equal(steps.at(-1)!.detail, 'HTTP 403: This request requires the photos:read scope.');
  });

  t.test('a client_credentials token is refused', async (t) => {
    const { res, titles, steps } = await call(await as.token({ claims: { sub: 'demo-client' } }));
    t.equal(res.statusCode, 403);
    t.same(titles.slice(-2), ['client_credentials token refused', 'Rejected: insufficient_scope']);
    t.equal(steps.at(-1)!.detail, `HTTP 403: ${CLIENT_TOKEN_DESCRIPTION}`);
  });

  t.test('no token at all', async (t) => {
    const { res, steps } = await call(null);
    t.equal(res.statusCode, 401);
    t.same(
      steps.map((s) => [s.title, s.outcome]),
      [['No access token presented', 'rejected']],
    );
  });

  t.test('keys unavailable: 503 recorded as temporarily_unavailable', async (t) => {
    as.jwksStatus = 500;
    const key = await as.addKey();
    const { res, titles } = await call(await as.token({ key }));
    as.jwksStatus = 200;
    t.equal(res.statusCode, 503);
    t.same(titles, [
      'Access token read from the Authorization header',
      `JWKS fetched because kid ${key.kid} was unknown`,
      'Rejected: temporarily_unavailable',
    ]);
  });

  t.test('no request without a traceparent is recorded; bad trace ids are invalid_request', async (t) => {
    const before = app.workshop.store.size;
    await app.inject({ url: '/photos', headers: bearer(await as.token()) });
    await app.inject({ url: '/photos', headers: { ...bearer(await as.token()), traceparent: 'garbage' } });
    t.equal(app.workshop.store.size, before);
    const bad = await app.inject('/workshop/traces/xyz');
    t.equal(bad.statusCode, 400);
    t.equal(bad.json().error, 'invalid_request');
  });

  t.test('no trace contains an access token (or any part of one)', async (t) => {
    const all = (await Promise.all(traceIds.map(async (id) => (await app.inject(`/workshop/traces/${id}`)).body))).join(
      '\n',
    );
    t.ok(tokens.length >= 8);
    for (const token of tokens) {
      t.notOk(all.includes(token), 'no whole token');
      for (const part of token.split('.').filter((p) => p.length > 20)) t.notOk(all.includes(part), 'no token part');
    }
  });
});

t.test('workshop mode off: 404 and nothing recorded', async (t) => {
  const { app, as } = await setup(t);
  const { traceId, headers } = newTrace();
  const res = await app.inject({ url: '/photos', headers: { ...headers, ...bearer(await as.token()) } });
  t.equal(res.statusCode, 200);
  await app.inject({ url: '/photos', headers });
  t.equal(app.workshop.store.size, 0);
  const doc = await app.inject(`/workshop/traces/${traceId}`);
  t.equal(doc.statusCode, 404);
  t.same(doc.json(), { error: 'not_found' });
});
