// GET /metrics: every refusal of Bearer authentication is counted under its reason, exactly once, and
// nothing from the token or the URL becomes a label.
import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { scrapeMetrics } from '@quartet/testing';
import { VERIFICATION_FAILURES } from '../../src/plugins/token-metrics.js';
import { ALICE, b64url, bearer, createSigningKey, setup } from '../helper.js';

const ctx = await setup(t);
const { app, as } = ctx;

const scrape = (target: FastifyInstance = app) => scrapeMetrics(target);

const series = (reason: string) => `quartet_token_verification_failures_total{reason="${reason}"}`;

/** Sends one request and checks its status and that exactly `reason` (or no reason) moved, by one. */
async function expectFailure(
  t: Test,
  reason: string | null,
  status: number,
  headers: Record<string, string>,
  url = '/photos',
  target = app,
) {
  const before = await scrape(target);
  const res = await target.inject({ method: 'GET', url, headers });
  t.equal(res.statusCode, status, `status ${status}${reason ? ` for ${reason}` : ''}`);
  const after = await scrape(target);
  for (const r of VERIFICATION_FAILURES) {
    t.equal(
      (after.get(series(r)) ?? NaN) - (before.get(series(r)) ?? NaN),
      r === reason ? 1 : 0,
      `${r} moved by ${r === reason ? 1 : 0}`,
    );
  }
}

t.test('all reasons exist at zero before any failure', async (t) => {
  const fresh = await scrape();
  for (const r of VERIFICATION_FAILURES) t.equal(fresh.get(series(r)), 0, r);
});

t.test('each refusal under its reason', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  await expectFailure(t, null, 200, bearer(await as.token()));
  await expectFailure(t, 'missing', 401, {});
  await expectFailure(t, 'malformed_request', 400, { authorization: 'Bearer two tokens' });
  await expectFailure(t, 'malformed_request', 400, bearer(await as.token()), '/photos?access_token=abc');
  await expectFailure(t, 'malformed', 401, bearer('not-a-jwt'));
  const none = `${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url({ sub: ALICE })}.`;
  await expectFailure(t, 'alg', 401, bearer(none));
  const [h, , s] = (await as.token()).split('.');
  await expectFailure(t, 'bad_signature', 401, bearer(`${h}.${b64url({ sub: 'mallory' })}.${s}`));
  await expectFailure(t, 'unknown_key', 401, bearer(await as.token({ key: await createSigningKey('not-published') })));
  await expectFailure(t, 'typ', 401, bearer(await as.token({ header: { typ: 'JWT' } })));
  await expectFailure(t, 'issuer', 401, bearer(await as.token({ claims: { iss: 'https://evil.example' } })));
  await expectFailure(t, 'audience', 401, bearer(await as.token({ claims: { aud: 'https://other.example' } })));
  await expectFailure(t, 'expired', 401, bearer(await as.token({ claims: { iat: now - 600, exp: now - 60 } })));
  await expectFailure(t, 'not_yet_valid', 401, bearer(await as.token({ claims: { nbf: now + 600 } })));
  await expectFailure(t, 'claims', 401, bearer(await as.token({ claims: { jti: undefined } })));
  await expectFailure(t, 'claims', 401, bearer(await as.token({ claims: { client_id: 42 } })));
  await expectFailure(t, 'scope', 403, bearer(await as.token({ claims: { scope: 'documents:read' } })));
  await expectFailure(
    t,
    'client_token',
    403,
    bearer(await as.token({ claims: { sub: 'demo-client', client_id: 'demo-client' } })),
  );
});

t.test('keys that cannot be fetched: keys_unavailable (503), not a token failure', async (t) => {
  const down = await setup(t);
  await down.as.stop();
  await expectFailure(t, 'keys_unavailable', 503, bearer(await down.as.token()), '/photos', down.app);
});

t.test('request metrics: route patterns, never ids or tokens', async (t) => {
  const token = await as.token();
  await app.inject({ method: 'GET', url: '/photos/11111111-2222-4333-8444-555555555555', headers: bearer(token) });
  await app.inject({ method: 'GET', url: '/nothing-here/secret-looking-path' });
  const samples = await scrape();
  const keys = [...samples.keys()].join('\n');
  t.match(keys, /http_requests_total\{method="GET",route="\/photos\/:id",status_code="404"\}/);
  t.match(keys, /http_requests_total\{method="GET",route="\/photos",status_code="401"\}/);
  t.match(keys, /route="unmatched",status_code="404"/);
  t.notMatch(keys, /11111111|secret-looking|access_token|eyJ/);
  t.notMatch(keys, /route="\/metrics"/);
});
