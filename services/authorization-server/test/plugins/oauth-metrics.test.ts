// GET /metrics: the request metrics every service has, and the authorization server's own counters, each
// checked to move by exactly the event that should move it (and nothing else).
import t, { type Test } from 'tap';
import { scrapeMetrics } from '@quartet/testing';
import { buildTestApp } from '../helper.js';
import {
  Browser,
  CLI_REDIRECT,
  DEMO_REDIRECT,
  authorizeUrl,
  location,
  login,
  obtainCode,
  tokenRequest,
} from '../browser.js';
import type { App } from '../../src/app.js';

const { app, config } = await buildTestApp(t);
const DEMO: [string, string] = ['demo-client', config.DEMO_CLIENT_SECRET];

const scrape = (target: App) => scrapeMetrics(target);

const AS_COUNTERS = [
  'quartet_tokens_issued_total{grant_type="authorization_code"}',
  'quartet_tokens_issued_total{grant_type="refresh_token"}',
  'quartet_tokens_issued_total{grant_type="client_credentials"}',
  'quartet_login_failures_total',
  'quartet_authorization_codes_redeemed_total',
  ...['malformed', 'invalid', 'replay', 'client', 'redirect_uri', 'pkce', 'resource', 'dpop_key'].map(
    (r) => `quartet_authorization_codes_rejected_total{reason="${r}"}`,
  ),
  'quartet_refresh_token_reuse_total',
  ...['pushed', 'refused', 'used', 'rejected'].map(
    (o) => `quartet_pushed_authorization_requests_total{outcome="${o}"}`,
  ),
];

/** Runs `action` and checks that, of the AS counters, exactly `expected` moved, by the given amounts. */
async function expectMoves(t: Test, expected: Record<string, number>, action: () => Promise<unknown>): Promise<void> {
  const before = await scrape(app);
  await action();
  const after = await scrape(app);
  for (const series of AS_COUNTERS) {
    t.equal(
      (after.get(series) ?? NaN) - (before.get(series) ?? NaN),
      expected[series] ?? 0,
      `${series} moved by ${expected[series] ?? 0}`,
    );
  }
}

function codeForm(code: string, verifier: string, extra: Record<string, string> = {}) {
  return { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT, ...extra };
}

t.test('every counter exists at zero from the start, with the text format content type', async (t) => {
  const fresh = await scrape(app);
  for (const series of AS_COUNTERS) t.equal(fresh.get(series), 0, series);
  const res = await app.inject('/metrics');
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.ok(
    [...fresh.keys()].some((k) => k.startsWith('process_resident_memory_bytes')),
    'process metrics',
  );
});

t.test('a failed login counts exactly one login failure', async (t) => {
  const browser = new Browser(app);
  const url = location(await browser.get(authorizeUrl()));
  await expectMoves(t, { quartet_login_failures_total: 1 }, async () => {
    const res = await login(browser, url.pathname + url.search, 'alice', 'not-her-password');
    t.equal(res.statusCode, 401);
  });
});

t.test('a redeemed code: one code redeemed, one authorization_code token issued', async (t) => {
  const { code, verifier } = await obtainCode(app);
  await expectMoves(
    t,
    {
      quartet_authorization_codes_redeemed_total: 1,
      'quartet_tokens_issued_total{grant_type="authorization_code"}': 1,
    },
    async () => {
      t.equal((await tokenRequest(app, codeForm(code, verifier), { basic: DEMO })).statusCode, 200);
    },
  );
});

t.test('code rejections are counted by reason', async (t) => {
  const rejected = (reason: string) => ({ [`quartet_authorization_codes_rejected_total{reason="${reason}"}`]: 1 });
  const expect400 = async (
    form: Record<string, string>,
    options: Parameters<typeof tokenRequest>[2] = { basic: DEMO },
  ) => {
    const res = await tokenRequest(app, form, options);
    t.equal(res.statusCode, 400, res.body);
  };

  const pkce = await obtainCode(app);
  await expectMoves(t, rejected('pkce'), () => expect400(codeForm(pkce.code, 'x'.repeat(43))));

  const redirect = await obtainCode(app);
  await expectMoves(t, rejected('redirect_uri'), () =>
    expect400(codeForm(redirect.code, redirect.verifier, { redirect_uri: 'http://localhost:3000/other' })),
  );

  const other = await obtainCode(app);
  await expectMoves(t, rejected('client'), () =>
    expect400(
      { ...codeForm(other.code, other.verifier, { redirect_uri: CLI_REDIRECT }), client_id: 'workshop-cli' },
      {},
    ),
  );

  await expectMoves(t, rejected('invalid'), () => expect400(codeForm('no-such-code', 'v'.repeat(43))));
  await expectMoves(t, rejected('malformed'), () =>
    expect400({ grant_type: 'authorization_code', code: 'abc', redirect_uri: DEMO_REDIRECT }),
  );
  await expectMoves(t, rejected('resource'), () =>
    expect400(codeForm('abc', 'v'.repeat(43), { resource: 'http://unknown.example' })),
  );

  // RFC 9449 §10: a code bound by dpop_jkt, redeemed without a proof of that key.
  const bound = await obtainCode(app, { params: { dpop_jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' } });
  await expectMoves(t, rejected('dpop_key'), () => expect400(codeForm(bound.code, bound.verifier)));

  // A replay by its own client with the right verifier: the grant is revoked (RFC 6749 §4.1.2).
  const spent = await obtainCode(app);
  t.equal((await tokenRequest(app, codeForm(spent.code, spent.verifier), { basic: DEMO })).statusCode, 200);
  await expectMoves(t, rejected('replay'), () => expect400(codeForm(spent.code, spent.verifier)));
});

t.test('refresh and client_credentials tokens by grant type; a reused refresh token is counted', async (t) => {
  const { code, verifier } = await obtainCode(app);
  const first = (await tokenRequest(app, codeForm(code, verifier), { basic: DEMO })).json() as {
    refresh_token: string;
  };
  await expectMoves(t, { 'quartet_tokens_issued_total{grant_type="refresh_token"}': 1 }, async () => {
    t.equal(
      (await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: first.refresh_token }, { basic: DEMO }))
        .statusCode,
      200,
    );
  });
  await expectMoves(t, { quartet_refresh_token_reuse_total: 1 }, async () => {
    t.equal(
      (await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: first.refresh_token }, { basic: DEMO }))
        .statusCode,
      400,
    );
  });
  await expectMoves(t, { 'quartet_tokens_issued_total{grant_type="client_credentials"}': 1 }, async () => {
    t.equal((await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: DEMO })).statusCode, 200);
  });
  // An unsupported grant type never becomes a label value.
  await expectMoves(t, {}, async () => {
    t.equal(
      (await tokenRequest(app, { grant_type: 'password', username: 'alice', password: 'wonderland' }, { basic: DEMO }))
        .statusCode,
      400,
    );
  });
  t.notOk([...(await scrape(app)).keys()].some((k) => k.includes('grant_type="password"')));
});

t.test('pushed authorization requests by outcome: pushed, refused, used, rejected (RFC 9126)', async (t) => {
  const par = (outcome: string) => ({ [`quartet_pushed_authorization_requests_total{outcome="${outcome}"}`]: 1 });
  const pushForm = {
    response_type: 'code',
    redirect_uri: DEMO_REDIRECT,
    scope: 'photos:read',
    code_challenge: 'c'.repeat(43),
    code_challenge_method: 'S256',
  };
  let requestUri = '';
  await expectMoves(t, par('pushed'), async () => {
    const res = await tokenRequest(app, pushForm, { basic: DEMO, url: '/oauth/par' });
    t.equal(res.statusCode, 201);
    requestUri = res.json().request_uri;
  });
  await expectMoves(t, par('refused'), async () => {
    const res = await tokenRequest(app, { ...pushForm, scope: 'admin' }, { basic: DEMO, url: '/oauth/par' });
    t.equal(res.statusCode, 400);
  });
  const authorize = `/authorize?client_id=demo-client&request_uri=${encodeURIComponent(requestUri)}`;
  await expectMoves(t, par('used'), async () => t.equal((await app.inject(authorize)).statusCode, 303));
  await expectMoves(t, par('rejected'), async () => t.equal((await app.inject(authorize)).statusCode, 400));
});

t.test('request metrics use the route pattern and status; /metrics is public and not counted', async (t) => {
  await app.inject('/.well-known/oauth-authorization-server');
  const url = authorizeUrl({ client_id: 'unknown-client-SECRETISH' });
  await app.inject(url);
  const samples = await scrape(app);
  t.ok(
    (samples.get(
      'http_requests_total{method="GET",route="/.well-known/oauth-authorization-server",status_code="200"}',
    ) ?? 0) >= 1,
  );
  t.ok(
    (samples.get('http_requests_total{method="POST",route="/oauth/token",status_code="400"}') ?? 0) >= 1,
    '4xx by status label',
  );
  t.ok((samples.get('http_requests_total{method="POST",route="/interaction/login",status_code="401"}') ?? 0) >= 1);
  t.ok(
    [...samples.keys()].some((k) =>
      k.startsWith('http_request_duration_seconds_bucket{le="0.1",method="POST",route="/oauth/token"'),
    ),
  );
  const keys = [...samples.keys()].join('\n');
  t.notMatch(keys, /SECRETISH|code_challenge|\?/, 'no query or client input in labels');
  t.notMatch(keys, /route="\/metrics"/);
  // No cookie, no credential: /metrics answers anyone who can reach the port (keep it off the public ingress).
  t.equal((await app.inject('/metrics')).statusCode, 200);
});
