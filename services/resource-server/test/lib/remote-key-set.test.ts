// An authorization server outage does not stop the API (RFC 5861 §4 stale-if-error on the JWKS and the
// metadata): the fake AS is a real local HTTP server that the tests make answer 500, hang (never answer) or
// drop connections; the verifier's clock is moved instead of waiting for max ages. Through the app (inject),
// so every answer is checked as a client sees it: status, Retry-After, body.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import type { AccessTokenVerifierOptions, VerifierLog } from '../../src/lib/access-token-verifier.js';
import { bearer, createSigningKey, setup, sleep, until } from '../helper.js';
import { signedTraceId } from '@quartet/common';
import { TEST_TRACE_SECRET } from '@quartet/testing';

const MAX_AGE = 600_000; // JWKS_CACHE_MAX_AGE=600
const MAX_STALE = 3_600_000; // JWKS_MAX_STALE=3600
const SETTINGS = { JWKS_CACHE_MAX_AGE: '600', JWKS_MAX_STALE: '3600', JWKS_COOLDOWN: '30', JWKS_FETCH_TIMEOUT: '3' };
// Far below JWKS_FETCH_TIMEOUT (3 s): an answer this fast did not wait for the hanging authorization server.
const NO_WAIT_MS = 1000;

const UNAVAILABLE = {
  error: 'temporarily_unavailable',
  error_description: 'The authorization server keys cannot be fetched right now; try again shortly.',
};

/** The verifier's log, by level and message. */
function captureLog() {
  const lines: { level: string; msg: string; fields: object }[] = [];
  const log: VerifierLog = {
    debug: (fields, msg) => lines.push({ level: 'debug', msg, fields }),
    info: (fields, msg) => lines.push({ level: 'info', msg, fields }),
    warn: (fields, msg) => lines.push({ level: 'warn', msg, fields }),
  };
  const count = (level: string, pattern: RegExp) =>
    lines.filter((l) => l.level === level && pattern.test(l.msg)).length;
  return { log, lines, count };
}

type Tap = Test;

/** The app against a fake AS, with the settings above (`env` overrides them) and a clock the test moves. */
async function outageApp(t: Tap, env: Record<string, string> = {}, verifier: Partial<AccessTokenVerifierOptions> = {}) {
  const clock = { now: Date.now() };
  const captured = captureLog();
  const ctx = await setup(t, {
    env: { ...SETTINGS, ...env },
    verifier: { now: () => clock.now, log: captured.log, ...verifier },
  });
  const get = (token: string) => ctx.app.inject({ method: 'GET', url: '/photos', headers: bearer(token) });
  /** Answers and how long the slowest took, for requests sent together. */
  const burst = async (tokens: string[]) => {
    const started = performance.now();
    const answers = await Promise.all(tokens.map(get));
    return { answers, ms: performance.now() - started };
  };
  return { ...ctx, clock, ...captured, get, burst };
}

function expectUnavailable(
  t: Tap,
  res: Awaited<ReturnType<Awaited<ReturnType<typeof outageApp>>['get']>>,
  what: string,
) {
  t.equal(res.statusCode, 503, what);
  t.equal(res.headers['retry-after'], '5', `${what}: Retry-After`);
  t.equal(res.headers['www-authenticate'], undefined, `${what}: not an authentication failure`);
  t.same(res.json(), UNAVAILABLE, `${what}: body`);
}

t.test(
  'past max age with the AS hanging: a known kid is verified at once, one background refresh for a burst',
  async (t) => {
    const { as, clock, get, burst } = await outageApp(t);
    const token = await as.token();
    t.equal((await get(token)).statusCode, 200);
    t.equal(as.jwksRequests, 1);

    as.fault = 'hang';
    clock.now += MAX_AGE + 1000;
    const started = performance.now();
    const first = await get(token);
    const ms = performance.now() - started;
    t.equal(first.statusCode, 200, 'verified with the set we hold');
    t.ok(ms < NO_WAIT_MS, `answered in ${ms.toFixed(0)} ms: no wait for the hanging AS (JWKS_FETCH_TIMEOUT 3 s)`);
    await until(() => as.jwksRequests === 2, 'the background refresh to reach the AS');

    const { answers, ms: burstMs } = await burst(await Promise.all(Array.from({ length: 20 }, () => as.token())));
    t.same(new Set(answers.map((a) => a.statusCode)), new Set([200]), 'every request of the burst is served');
    t.ok(burstMs < NO_WAIT_MS, `the burst took ${burstMs.toFixed(0)} ms`);
    t.equal(as.jwksRequests, 2, 'the burst joined the refresh in flight: no further fetch');
  },
);

t.test(
  'an outage with the AS answering 500: stale set served, unknown kid 503, back-off bounds the fetches, past max stale 503, recovery',
  async (t) => {
    const { as, clock, get, burst, count, lines } = await outageApp(t);
    const oldKey = as.current;
    const token = await as.token();
    t.equal((await get(token)).statusCode, 200);

    as.fault = 'error';
    clock.now += MAX_AGE + 1000;
    t.equal((await get(token)).statusCode, 200, 'past max age, refresh failing: the last good set still verifies');
    await until(() => count('warn', /key set \(JWKS\) could not be fetched/) === 1, 'the outage warning');
    t.equal(as.jwksRequests, 2);

    // A key the AS has rotated in while we cannot reach it: we cannot tell the token is bad.
    const newKey = await as.addKey();
    expectUnavailable(t, await get(await as.token({ key: newKey })), 'unknown kid during the outage');
    t.equal((await get(await as.token({ key: oldKey }))).statusCode, 200, 'a known kid is still served');

    // A burst at one instant, known and unknown kids mixed: the back-off allows no fetch at all.
    const mixed = await Promise.all(Array.from({ length: 30 }, (_, i) => as.token({ key: i % 2 ? newKey : oldKey })));
    const { answers } = await burst(mixed);
    t.same(
      answers.map((a) => a.statusCode),
      mixed.map((_, i) => (i % 2 ? 503 : 200)),
    );
    t.equal(as.jwksRequests, 2, 'no fetch during the back-off');

    // Twenty simulated seconds of traffic, a known and an unknown kid every 250 ms: the back-off (1 s, 2 s,
    // 4 s, 8 s, ...) allows a handful of attempts, not 160.
    for (let step = 0; step < 80; step++) {
      clock.now += 250;
      await Promise.all([get(await as.token({ key: oldKey })), get(await as.token({ key: newKey }))]);
      await sleep(2);
    }
    const attempts = as.jwksRequests - 2;
    t.ok(attempts >= 2 && attempts <= 6, `${attempts} fetch attempts in 20 s of failing traffic`);
    t.equal(count('warn', /key set \(JWKS\) could not be fetched/), 1, 'one outage warning, not one per request');
    t.equal(
      count('warn', /key set \(JWKS\) is past its max age.*serving the last good copy/),
      1,
      'one stale-if-error warning',
    );
    t.notOk(
      lines.some((l) => JSON.stringify(l).includes('eyJ')),
      'no token (nor any base64url JWT part) in the log',
    );

    // Past JWKS_MAX_STALE the old set is no longer used, even for its own kids.
    clock.now += MAX_STALE;
    expectUnavailable(t, await get(await as.token({ key: oldKey })), 'past max stale');
    t.equal(count('warn', /older than its max age plus JWKS_MAX_STALE/), 1, 'one expiry warning');

    // The AS is back: after the back-off the new key is picked up without a restart.
    as.fault = null;
    const beforeRecovery = as.jwksRequests;
    expectUnavailable(t, await get(await as.token({ key: newKey })), 'still within the back-off');
    t.equal(as.jwksRequests, beforeRecovery, 'the back-off holds even though the AS is healthy again');
    clock.now += 61_000;
    t.equal((await get(await as.token({ key: newKey }))).statusCode, 200, 'the rotated-in key verifies');
    t.equal((await get(await as.token({ key: oldKey }))).statusCode, 200, 'and the old one, still published');
    t.equal(as.jwksRequests, beforeRecovery + 1);
    t.equal(count('info', /key set \(JWKS\) fetched again: recovered/), 1, 'recovery logged');
  },
);

t.test(
  'no key set yet and the AS hangs: 503 within JWKS_FETCH_TIMEOUT, then 503 at once during the back-off',
  async (t) => {
    const { as, get } = await outageApp(t, { JWKS_FETCH_TIMEOUT: '0.5' });
    as.fault = 'hang';
    const token = await as.token();
    let started = performance.now();
    expectUnavailable(t, await get(token), 'first request, AS hanging');
    const waited = performance.now() - started;
    t.ok(waited < 2000, `answered after ${waited.toFixed(0)} ms (JWKS_FETCH_TIMEOUT 0.5 s)`);
    t.equal(as.metadataRequests, 1);

    started = performance.now();
    expectUnavailable(t, await get(token), 'second request');
    t.ok(performance.now() - started < NO_WAIT_MS, 'did not wait: the back-off answers at once');
    t.equal(as.metadataRequests, 1, 'and sent nothing to the AS');
  },
);

t.test(
  'no request waits longer than JWKS_FETCH_TIMEOUT in all, even when metadata and keys both have to be fetched',
  async (t) => {
    // The metadata answers after 400 ms, the JWKS never: 400 + 600 ms if each fetch had a budget of its own.
    const slowThenHanging = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      if (String(input).endsWith('/oauth-authorization-server')) {
        await sleep(400);
        return fetch(input, init);
      }
      return new Promise<Response>((_, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error)),
      );
    };
    const { as, get } = await outageApp(t, { JWKS_FETCH_TIMEOUT: '0.6' }, { fetch: slowThenHanging });
    const started = performance.now();
    expectUnavailable(t, await get(await as.token()), 'metadata slow, JWKS hanging');
    const waited = performance.now() - started;
    t.ok(
      waited < 900,
      `answered after ${waited.toFixed(0)} ms: one 600 ms budget for both fetches (with scheduling margin)`,
    );
  },
);

t.test(
  'the AS drops connections: an unknown kid is 503, known kids are served, back-off between attempts',
  async (t) => {
    const { as, clock, get } = await outageApp(t);
    const oldKey = as.current;
    t.equal((await get(await as.token())).statusCode, 200);
    as.fault = 'close';
    const newKey = await as.addKey();
    clock.now += 31_000; // past JWKS_COOLDOWN: an unknown kid may cause a fetch
    expectUnavailable(t, await get(await as.token({ key: newKey })), 'unknown kid, connection dropped');
    t.equal(as.jwksRequests, 2);
    expectUnavailable(t, await get(await as.token({ key: newKey })), 'again, during the back-off');
    t.equal(as.jwksRequests, 2, 'no fetch during the back-off');
    t.equal(
      (await get(await as.token({ key: oldKey }))).statusCode,
      200,
      'the set is within its max age: known kids verify',
    );
  },
);

t.test(
  'AS healthy: an unknown kid within JWKS_COOLDOWN is 401 without a fetch; after it, one fetch and 401',
  async (t) => {
    const { as, clock, get } = await outageApp(t);
    t.equal((await get(await as.token())).statusCode, 200);
    const stranger = await createSigningKey();
    const within = await get(await as.token({ key: stranger }));
    t.equal(within.statusCode, 401);
    t.match(within.headers['www-authenticate'], /error="invalid_token"/);
    t.equal(as.jwksRequests, 1, 'within the cooldown: no fetch');
    clock.now += 31_000;
    t.equal((await get(await as.token({ key: stranger }))).statusCode, 401, 'still unknown after a good fetch');
    t.equal(as.jwksRequests, 2);
  },
);

t.test('metadata past its max age with the AS hanging: requests do not wait, the refresh backs off', async (t) => {
  const { as, clock, get, burst, count } = await outageApp(
    t,
    { JWKS_FETCH_TIMEOUT: '0.5' },
    { metadataMaxAge: 60_000 },
  );
  const token = await as.token();
  t.equal((await get(token)).statusCode, 200);
  as.fault = 'hang';
  clock.now += 61_000; // metadata stale; keys (600 s) still fresh
  const { answers, ms } = await burst(Array.from({ length: 20 }, () => token));
  t.same(new Set(answers.map((a) => a.statusCode)), new Set([200]));
  t.ok(ms < NO_WAIT_MS, `20 requests in ${ms.toFixed(0)} ms: none waited for the metadata refresh`);
  await until(() => as.metadataRequests === 2, 'the background metadata refresh');
  await until(() => count('warn', /metadata could not be fetched/) === 1, 'the refresh to time out (0.5 s)');

  clock.now += 500; // within the 1 s back-off
  await burst(Array.from({ length: 20 }, () => token));
  t.equal(as.metadataRequests, 2, 'no metadata request during the back-off');
  t.equal(
    count('warn', /metadata is past its max age.*serving the last good copy/),
    1,
    'one stale-if-error warning for the burst',
  );
  clock.now += 1000;
  t.equal((await get(token)).statusCode, 200);
  await until(() => as.metadataRequests === 3, 'the retry after the back-off');
  t.equal(as.jwksRequests, 1, 'the keys were never refetched');
});

t.test(
  'workshop mode: a background refresh is not attributed to the request that noticed the set was old',
  async (t) => {
    const { as, app, clock } = await outageApp(t, { WORKSHOP_MODE: 'true' });
    const traced = async (token: string) => {
      const traceId = signedTraceId(TEST_TRACE_SECRET);
      const res = await app.inject({
        url: '/photos',
        headers: { ...bearer(token), traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
      });
      const steps = (await app.inject(`/workshop/traces/${traceId}`)).json().steps as { title: string }[];
      return { status: res.statusCode, titles: steps.map((s) => s.title) };
    };
    const kid = as.current.kid;
    const first = await traced(await as.token());
    t.ok(
      first.titles.includes(`JWKS fetched because kid ${kid} was unknown`),
      'the first verification fetched the keys',
    );
    clock.now += MAX_AGE + 1000;
    const stale = await traced(await as.token());
    t.equal(stale.status, 200);
    await until(() => as.jwksRequests === 2, 'the background refresh');
    t.same(stale.titles.slice(0, 2), [
      'Access token read from the Authorization header',
      `Signature verified with key kid=${kid} (ES256) using the cached JWKS — no call to the authorization server`,
    ]);
  },
);
