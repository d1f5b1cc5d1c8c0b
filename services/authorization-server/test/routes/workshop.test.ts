// Workshop mode: with a W3C traceparent, the token, revocation and introspection endpoints record their steps
// (and the browser leg of the code they redeem) at GET /workshop/traces/:traceId; rejections carry their RFC
// error. No step ever holds a token, code, verifier, secret or password. With workshop mode off: 404, nothing.
import t, { type Test } from 'tap';
import { decodeProtectedHeader } from 'jose';
import { newTraceContext, formatTraceparent, type TraceStep } from '@quartet/common';
import { TEST_TRACE_SECRET } from '@quartet/testing';
import { createEnvironment } from '../helper.js';
import {
  Browser,
  DEMO_REDIRECT,
  authorizeUrl,
  location,
  login,
  obtainCode,
  pkcePair,
  tokenRequest,
} from '../browser.js';
import type { App } from '../../src/app.js';
import { dpopKey, dpopProof } from '../dpop-fixtures.js';

const environment = await createEnvironment(t);
const WORKSHOP = { WORKSHOP_MODE: 'true', WORKSHOP_TRACE_SECRET: TEST_TRACE_SECRET };
let app: App = await environment.build(WORKSHOP);
const DEMO: [string, string] = ['demo-client', environment.config.DEMO_CLIENT_SECRET];
const PASSWORD = 'wonderland';

function newTrace() {
  const context = newTraceContext(TEST_TRACE_SECRET);
  return { traceId: context.traceId, headers: { traceparent: formatTraceparent(context) } };
}

async function steps(traceId: string): Promise<TraceStep[]> {
  const res = await app.inject(`/workshop/traces/${traceId}`);
  if (res.statusCode !== 200) throw new Error(`trace endpoint answered ${res.statusCode}`);
  const body = res.json();
  if (body.traceId !== traceId || body.service !== 'authorization-server') throw new Error('wrong trace document');
  return body.steps;
}

const titles = (list: TraceStep[]) => list.map((s) => s.title);

function inTimeOrder(t: Test, list: TraceStep[]) {
  const times = list.map((s) => s.at);
  t.same(times, [...times].sort(), 'steps are in time order');
  t.ok(list.every((s) => s.role === 'authorization server'));
  t.ok(list.every((s) => !Number.isNaN(Date.parse(s.at))));
}

const codeForm = (code: string, verifier: string) => ({
  grant_type: 'authorization_code',
  code,
  code_verifier: verifier,
  redirect_uri: DEMO_REDIRECT,
});

// Everything secret the tests below handle; none may appear in any trace.
const secrets = new Set<string>([DEMO[1], PASSWORD]);
const traces: string[] = [];

t.test('a code redemption: the browser leg, then every token endpoint check, in order', async (t) => {
  const { traceId, headers } = newTrace();
  traces.push(traceId);
  const browser = new Browser(app);
  const { code, verifier } = await obtainCode(app, { browser });
  const res = await tokenRequest(app, codeForm(code, verifier), { basic: DEMO, headers });
  t.equal(res.statusCode, 200);
  const body = res.json();
  for (const s of [code, verifier, body.access_token, body.refresh_token]) secrets.add(s);

  const list = await steps(traceId);
  const kid = decodeProtectedHeader(body.access_token).kid;
  t.same(titles(list), [
    'Authorization request validated',
    'User logged in as alice',
    'Consent page shown',
    'Consent approved',
    'Authorization code issued',
    'Client authenticated (client_secret_basic)',
    'grant_type authorization_code',
    'Authorization code found and consumed (single use)',
    'The code was issued to this client',
    'redirect_uri matches the authorization request',
    'PKCE verified (S256)',
    `Access token signed with kid=${kid} (ES256)`,
    'Refresh token issued',
  ]);
  inTimeOrder(t, list);
  t.ok(list.every((s) => s.outcome === 'ok'));
  t.match(list[0]!.detail, /demo-client.*redirect_uri http:\/\/localhost:3000\/callback.*S256/);
  t.match(list[4]!.detail, /bound to client demo-client.*valid 60 s; single use/);
  t.match(list[10]!.detail, /BASE64URL\(SHA256\(code_verifier\)\) equals the stored S256 challenge/);
  t.match(
    list[11]!.detail,
    new RegExp(`expires in ${environment.config.ACCESS_TOKEN_TTL} s; aud=${environment.config.RESOURCE_AUDIENCE}`),
  );

  t.test('a second flow in the same browser: session found and consent remembered', async (t) => {
    const second = newTrace();
    traces.push(second.traceId);
    const again = await obtainCode(app, { browser });
    const res = await tokenRequest(app, codeForm(again.code, again.verifier), { basic: DEMO, headers: second.headers });
    t.equal(res.statusCode, 200);
    for (const s of [again.code, again.verifier, res.json().access_token, res.json().refresh_token]) secrets.add(s);
    t.same(titles(await steps(second.traceId)).slice(0, 4), [
      'Authorization request validated',
      'Login session found: alice is already logged in',
      'Consent remembered',
      'Authorization code issued',
    ]);
  });

  t.test('refresh: rotation, then reuse of the spent token revokes the grant', async (t) => {
    // The first refresh token, sent twice: once to rotate it, then again after it was spent.
    const refreshWith = (headers: Record<string, string>) =>
      tokenRequest(app, { grant_type: 'refresh_token', refresh_token: body.refresh_token }, { basic: DEMO, headers });
    const refresh = newTrace();
    traces.push(refresh.traceId);
    const rotated = await refreshWith(refresh.headers);
    t.equal(rotated.statusCode, 200);
    for (const s of [rotated.json().access_token, rotated.json().refresh_token]) secrets.add(s);
    const list = await steps(refresh.traceId);
    t.same(titles(list), [
      'Client authenticated (client_secret_basic)',
      'grant_type refresh_token',
      'Refresh token rotated',
      `Access token signed with kid=${kid} (ES256)`,
    ]);
    inTimeOrder(t, list);

    const reuse = newTrace();
    traces.push(reuse.traceId);
    const replayed = await refreshWith(reuse.headers);
    t.equal(replayed.statusCode, 400);
    const reuseSteps = await steps(reuse.traceId);
    t.same(titles(reuseSteps), [
      'Client authenticated (client_secret_basic)',
      'grant_type refresh_token',
      'Reuse detected: grant revoked',
      'Rejected: invalid_grant',
    ]);
    t.same(
      reuseSteps.slice(2).map((s) => s.outcome),
      ['rejected', 'rejected'],
    );
    t.equal(reuseSteps[3]!.detail, `HTTP 400: ${replayed.json().error_description}`);
  });

  t.test('revocation and introspection record what they did', async (t) => {
    // A fresh grant: the one above was revoked by the reuse.
    const fresh = await obtainCode(app, { browser });
    const issued = (await tokenRequest(app, codeForm(fresh.code, fresh.verifier), { basic: DEMO })).json();
    for (const s of [fresh.code, fresh.verifier, issued.access_token, issued.refresh_token]) secrets.add(s);
    const trace = newTrace();
    traces.push(trace.traceId);
    // Each call, in order, with the step it records after the client authentication.
    const calls: [url: string, token: string, step: string][] = [
      ['/oauth/introspect', issued.access_token, 'Introspection: active access token'],
      ['/oauth/revoke', issued.access_token, 'Access token revoked'],
      ['/oauth/introspect', issued.access_token, 'Introspection: inactive'],
      ['/oauth/introspect', issued.refresh_token, 'Introspection: active refresh token'],
      ['/oauth/revoke', issued.refresh_token, 'Refresh token revoked: grant ended'],
      ['/oauth/revoke', 'not-a-known-token', 'Nothing to revoke'],
    ];
    for (const [url, token] of calls) await tokenRequest(app, { token }, { basic: DEMO, url, headers: trace.headers });
    const list = await steps(trace.traceId);
    t.same(
      titles(list),
      calls.flatMap(([, , step]) => ['Client authenticated (client_secret_basic)', step]),
    );
    inTimeOrder(t, list);
  });
});

t.test(
  'PKCE failure: the wrong code_verifier is rejected with invalid_grant, recorded with the browser leg',
  async (t) => {
    const { traceId, headers } = newTrace();
    traces.push(traceId);
    const { code, verifier } = await obtainCode(app);
    const wrong = pkcePair().verifier;
    for (const s of [code, verifier, wrong]) secrets.add(s);
    const res = await tokenRequest(app, codeForm(code, wrong), { basic: DEMO, headers });
    t.equal(res.statusCode, 400);
    t.same(res.json(), {
      error: 'invalid_grant',
      error_description: 'code_verifier does not match the code_challenge.',
    });
    const list = await steps(traceId);
    t.same(titles(list).slice(-5), [
      'Authorization code found and consumed (single use)',
      'The code was issued to this client',
      'redirect_uri matches the authorization request',
      'PKCE failed',
      'Rejected: invalid_grant',
    ]);
    t.equal(titles(list)[0], 'Authorization request validated');
    t.same(
      list.slice(-2).map((s) => s.outcome),
      ['rejected', 'rejected'],
    );
    t.equal(list.at(-1)!.detail, 'HTTP 400: code_verifier does not match the code_challenge.');
  },
);

t.test('PAR with DPoP: the push, the request_uri used, the key binding checked (RFC 9126, RFC 9449 §10)', async (t) => {
  const key = await dpopKey();
  const other = await dpopKey();
  const issuer = environment.config.ISSUER;
  /** demo-client pushes with a proof of `key` (traced by `headers`); alice approves; the code and its verifier. */
  async function pushedCode(headers: Record<string, string>) {
    const { verifier, challenge } = pkcePair();
    const form = {
      response_type: 'code',
      redirect_uri: DEMO_REDIRECT,
      scope: 'photos:read',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    };
    const pushed = await tokenRequest(app, form, {
      basic: DEMO,
      url: '/oauth/par',
      headers: { ...headers, dpop: await dpopProof(key, `${issuer}/oauth/par`) },
    });
    t.equal(pushed.statusCode, 201);
    const browser = new Browser(app);
    const authorize = `/authorize?client_id=demo-client&request_uri=${encodeURIComponent(pushed.json().request_uri)}`;
    const loginUrl = location(await browser.get(authorize));
    let next = location(await login(browser, loginUrl.pathname + loginUrl.search));
    // alice may have approved demo-client before (a remembered consent): no consent page then.
    if (next.pathname === '/interaction/consent') {
      const page = await browser.open(next.pathname + next.search);
      next = location(await browser.submit(page, '/interaction/consent', { decision: 'approve' }));
    }
    const code = next.searchParams.get('code')!;
    for (const s of [code, verifier, pushed.json().request_uri]) secrets.add(s);
    return { code, verifier };
  }

  const push = newTrace();
  traces.push(push.traceId);
  const { code, verifier } = await pushedCode(push.headers);
  const pushSteps = await steps(push.traceId);
  t.same(titles(pushSteps), ['Client authenticated (client_secret_basic)', 'Authorization request pushed (PAR)']);
  t.match(pushSteps[1]!.detail, `bound to the DPoP key ${key.jkt} (RFC 9449 §10)`);
  t.match(pushSteps[1]!.detail, /works once, for 60 s, for this client only/);

  const redeem = newTrace();
  traces.push(redeem.traceId);
  const res = await tokenRequest(app, codeForm(code, verifier), {
    basic: DEMO,
    headers: { ...redeem.headers, dpop: await dpopProof(key, `${issuer}/oauth/token`) },
  });
  t.equal(res.statusCode, 200);
  for (const s of [res.json().access_token, res.json().refresh_token]) secrets.add(s);
  const list = titles(await steps(redeem.traceId));
  t.equal(list[0], 'Pushed authorization request used');
  const checks = list.indexOf('The code was issued to this client');
  t.same(list.slice(checks, checks + 4), [
    'The code was issued to this client',
    'redirect_uri matches the authorization request',
    'PKCE verified (S256)',
    "The DPoP proof's key is the one the code is bound to",
  ]);

  const stolen = await pushedCode({});
  const refused = newTrace();
  traces.push(refused.traceId);
  const wrongKey = await tokenRequest(app, codeForm(stolen.code, stolen.verifier), {
    basic: DEMO,
    headers: { ...refused.headers, dpop: await dpopProof(other, `${issuer}/oauth/token`) },
  });
  t.equal(wrongKey.statusCode, 400);
  t.same(titles(await steps(refused.traceId)).slice(-3), [
    'PKCE verified (S256)',
    'DPoP key does not match the code',
    'Rejected: invalid_grant',
  ]);
});

t.test('code replay: the second redemption revokes the grant', async (t) => {
  const { code, verifier } = await obtainCode(app);
  const first = await tokenRequest(app, codeForm(code, verifier), { basic: DEMO });
  for (const s of [code, verifier, first.json().access_token, first.json().refresh_token]) secrets.add(s);
  const { traceId, headers } = newTrace();
  traces.push(traceId);
  const replay = await tokenRequest(app, codeForm(code, verifier), { basic: DEMO, headers });
  t.equal(replay.statusCode, 400);
  t.same(titles(await steps(traceId)), [
    'Client authenticated (client_secret_basic)',
    'grant_type authorization_code',
    'Authorization code not usable',
    'Reuse detected: grant revoked',
    'Rejected: invalid_grant',
  ]);
});

t.test('client authentication failure is recorded with its RFC 6749 error', async (t) => {
  const { traceId, headers } = newTrace();
  traces.push(traceId);
  const res = await tokenRequest(
    app,
    { grant_type: 'client_credentials' },
    { basic: ['demo-client', 'wrong-secret-value'], headers },
  );
  t.equal(res.statusCode, 401);
  const list = await steps(traceId);
  t.same(
    list.map((s) => [s.title, s.detail, s.outcome]),
    [['Rejected: invalid_client', 'HTTP 401: Client authentication failed.', 'rejected']],
  );
  secrets.add('wrong-secret-value');
});

t.test('client_credentials and a public client (none)', async (t) => {
  const { traceId, headers } = newTrace();
  traces.push(traceId);
  const res = await tokenRequest(
    app,
    { grant_type: 'client_credentials', scope: 'photos:read' },
    { basic: DEMO, headers },
  );
  t.equal(res.statusCode, 200);
  secrets.add(res.json().access_token);
  t.same(titles(await steps(traceId)).slice(0, 3), [
    'Client authenticated (client_secret_basic)',
    'grant_type client_credentials',
    'client_credentials: the client acts for itself',
  ]);

  const pub = newTrace();
  traces.push(pub.traceId);
  await tokenRequest(
    app,
    {
      grant_type: 'authorization_code',
      client_id: 'workshop-cli',
      code: 'x'.repeat(43),
      code_verifier: 'y'.repeat(43),
    },
    { headers: pub.headers },
  );
  t.same(titles(await steps(pub.traceId)), [
    'Client authenticated (none)',
    'grant_type authorization_code',
    'Authorization code not usable',
    'Rejected: invalid_grant',
  ]);
});

t.test('requests without a valid traceparent record nothing; a bad trace id is invalid_request', async (t) => {
  const before = app.workshop.store.size;
  const { code, verifier } = await obtainCode(app);
  const res = await tokenRequest(app, codeForm(code, verifier), {
    basic: DEMO,
    headers: { traceparent: `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01` },
  });
  t.equal(res.statusCode, 200);
  for (const s of [code, verifier, res.json().access_token, res.json().refresh_token]) secrets.add(s);
  t.equal(app.workshop.store.size, before);
  const bad = await app.inject('/workshop/traces/NOT-A-TRACE');
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().error, 'invalid_request');
});

t.test('a failed login is a rejected step that names neither the username nor the password typed', async (t) => {
  const { traceId, headers } = newTrace();
  traces.push(traceId);
  const browser = new Browser(app);
  const { verifier, challenge } = pkcePair();
  const start = location(await browser.get(authorizeUrl({}, challenge)));
  const loginUrl = start.pathname + start.search;
  t.equal((await login(browser, loginUrl, 'alice', 'typed-by-mistake-1234')).statusCode, 401);
  secrets.add('typed-by-mistake-1234');
  // Alice approved demo-client earlier in this file: the consent is remembered and the code comes at once.
  const code = location(await login(browser, loginUrl)).searchParams.get('code')!;
  const res = await tokenRequest(app, codeForm(code, verifier), { basic: DEMO, headers });
  t.equal(res.statusCode, 200);
  for (const s of [code, verifier, res.json().access_token, res.json().refresh_token]) secrets.add(s);
  const list = await steps(traceId);
  t.same(titles(list).slice(0, 5), [
    'Authorization request validated',
    'Login failed',
    'User logged in as alice',
    'Consent remembered',
    'Authorization code issued',
  ]);
  t.equal(list[1]!.outcome, 'rejected');
  t.notMatch(JSON.stringify(list[1]), /alice/);
});

t.test('no trace ever contains a token, code, code_verifier, client secret or password', async (t) => {
  t.ok(traces.length >= 8);
  const all = (await Promise.all(traces.map(async (id) => (await app.inject(`/workshop/traces/${id}`)).body))).join(
    '\n',
  );
  for (const secret of secrets) {
    t.ok(secret.length >= 8);
    t.notOk(all.includes(secret), `trace JSON does not contain a secret of length ${secret.length}`);
  }
});

t.test('a made-up traceparent (trace id not signed by the client app) creates and extends nothing', async (t) => {
  const before = app.workshop.store.size;
  // Well-formed W3C trace ids, but not signed with WORKSHOP_TRACE_SECRET: one random, one signed with another key.
  const forged = [
    newTraceContext('another-secret-that-is-32-characters-long'),
    { ...newTraceContext(TEST_TRACE_SECRET), traceId: 'ab'.repeat(16) },
  ];
  for (const context of forged) {
    const headers = { traceparent: formatTraceparent(context) };
    const { code, verifier } = await obtainCode(app);
    t.equal((await tokenRequest(app, codeForm(code, verifier), { basic: DEMO, headers })).statusCode, 200);
    t.equal((await tokenRequest(app, codeForm('x'.repeat(43), verifier), { basic: DEMO, headers })).statusCode, 400);
    const res = await app.inject(`/workshop/traces/${context.traceId}`);
    t.equal(res.statusCode, 404);
    t.same(res.json(), { error: 'not_found', error_description: 'No such trace.' });
  }
  // Someone who saw a real trace id in a URL can send it on, but cannot forge a new one.
  t.equal(app.workshop.store.size, before, 'no trace created');
});

t.test('workshop mode without WORKSHOP_TRACE_SECRET refuses to start, naming it', async (t) => {
  await t.rejects(environment.build({ WORKSHOP_MODE: 'true' }), {
    name: 'ConfigError',
    message: /WORKSHOP_TRACE_SECRET/,
  });
});

t.test('workshop mode off: the trace endpoint is 404 and nothing is recorded', async (t) => {
  await app.close();
  app = await environment.build();
  t.notOk(app.workshop.enabled);
  const { traceId, headers } = newTrace();
  const { code, verifier } = await obtainCode(app);
  const res = await tokenRequest(app, codeForm(code, verifier), { basic: DEMO, headers });
  t.equal(res.statusCode, 200);
  await tokenRequest(app, codeForm(code, verifier), { basic: DEMO, headers });
  t.equal(app.workshop.store.size, 0);
  const trace = await app.inject(`/workshop/traces/${traceId}`);
  t.equal(trace.statusCode, 404);
  t.same(trace.json(), { error: 'not_found' });
});
