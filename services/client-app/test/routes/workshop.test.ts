import { createHash } from 'node:crypto';
import t from 'tap';
import { forms, isSignedTraceId } from '@quartet/common';
import { TEST_TRACE_SECRET, createRedisPrefix } from '@quartet/testing';
import { buildApp } from '../../src/app.js';
import { readConfig } from '../../src/config.js';
import { APP_URL, Browser, buildTestApp, callbackUrl, connect, csrfOf, startFlow } from '../helper.js';
import { startLabServers } from '../fixtures/lab-servers.js';
import { LAB_SWITCHES } from '../../src/workshop/lab/switches/index.js';

const ROLES = ['resource owner', 'client', 'authorization server', 'resource server'];
const stepRoles = (html: string) =>
  new Set([...html.matchAll(/<li class="step [a-z]+" id="step-\d+" data-role="([^"]+)"/g)].map((m) => m[1]));

t.test('workshop mode off: no inspector, no lab, no trace header, no script allowed', async (t) => {
  const ctx = await buildTestApp(t);
  const browser = await connect(ctx);
  for (const path of ['/workshop/inspector', '/workshop/lab', '/workshop/lab/client-metadata/mismatched'])
    t.equal((await browser.get(path)).statusCode, 404, `${path} does not exist`);
  t.equal((await browser.post('/workshop/lab/run', { switch: 'no-pkce', _csrf: 'x' })).statusCode, 404);
  const photos = await browser.get('/photos');
  t.notMatch(photos.body, 'What just happened?');
  t.match(photos.headers['content-security-policy'], /script-src 'none'/);
  t.equal(browser.cookie('quartet_client_inspector'), undefined);
  t.equal(ctx.as.tokenCalls[0]!.traceparent, undefined, 'no traceparent to the AS');
  t.same(ctx.rs.traceparents.filter(Boolean), [], 'no traceparent to the RS');
});

t.test(
  'the inspector records a connect: every role, PKCE shown, secret masked, tokens shortened, one trace',
  async (t) => {
    const ctx = await buildTestApp(t, { WORKSHOP_MODE: 'true' });
    const browser = ctx.browser();
    const empty = await browser.get('/workshop/inspector');
    t.equal(empty.statusCode, 200);
    t.match(empty.body, 'Nothing recorded yet');

    const { state, authorize } = await startFlow(browser);
    t.ok(browser.cookie('quartet_client_inspector'), 'a per-browser inspector id');
    const callback = await browser.get(callbackUrl({ code: 'good-code-0123456789', state, iss: ctx.as.issuer }));
    t.equal(callback.statusCode, 303);
    const photos = await browser.get('/photos');
    t.equal(photos.statusCode, 200);
    t.match(photos.body, 'href="/workshop/inspector"', 'every page links to the inspector');
    t.match(photos.headers['content-security-policy'], /script-src 'self'/);

    const page = await browser.get('/workshop/inspector');
    t.equal(page.statusCode, 200);
    const body = page.body;
    t.same([...stepRoles(body)].sort(), [...ROLES].sort(), 'steps of all four roles');
    // The PKCE computation: the verifier is shown, and hashes to the challenge that was sent.
    const verifier = /code_verifier\s+= ([A-Za-z0-9_-]{43})/.exec(body)?.[1];
    t.ok(verifier, 'the verifier is shown');
    t.equal(createHash('sha256').update(verifier!).digest('base64url'), authorize.searchParams.get('code_challenge'));
    t.match(body, 'Basic base64(demo-client:••••••••)', 'the Authorization header is masked');
    t.notMatch(body, 'demo-client-secret', 'the secret never appears');
    t.notMatch(body, Buffer.from('demo-client:demo-client-secret').toString('base64'), 'nor its base64');
    t.notMatch(body, 'good-code-0123456789', 'the code is shortened');
    t.match(body, 'good-cod…');
    for (const token of [...ctx.as.issuedTokens, ...ctx.as.issuedRefreshTokens]) {
      t.notOk(body.includes(token), 'no whole token');
      t.ok(body.includes(token.slice(0, 8) + '…'), 'tokens shortened to 8 characters');
    }
    t.match(body, /Checks made by the client/);
    t.match(body, /✔ state/);
    t.match(body, /✔ iss/);
    t.match(body, /GET \/photos/);
    t.match(body, /Bearer fake-acc…/);
    t.match(body, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="sequence"/, 'the sequence diagram');
    t.match(body, 'authorization server: not available', 'AS steps not available: tolerated');
    t.match(body, '<script src="/static/countdown.js"></script>');

    // One trace id for the whole flow, sent to both servers.
    const traceId = /Trace id <code>([0-9a-f]{32})<\/code>/.exec(body)?.[1];
    t.ok(traceId);
    t.ok(
      isSignedTraceId(traceId!, TEST_TRACE_SECRET),
      'signed with WORKSHOP_TRACE_SECRET, so the servers will trace it',
    );
    t.match(ctx.as.tokenCalls[0]!.traceparent, new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const rsTraced = ctx.rs.traceparents.filter(Boolean);
    t.equal(rsTraced.length, 1, "the API call (the inspector's own trace fetch carries none)");
    t.match(rsTraced[0], new RegExp(`^00-${traceId}-`));

    const script = await browser.get('/static/countdown.js');
    t.equal(script.statusCode, 200);
    t.match(script.body, 'data-expires-at');
  },
);

t.test('refreshes, failed checks and the logout revocation are recorded in the flow', async (t) => {
  const ctx = await buildTestApp(t, { WORKSHOP_MODE: '1' });
  ctx.as.expiresIn = 5; // within the refresh margin: the next page refreshes first
  const browser = await connect(ctx);
  t.equal((await browser.get('/documents')).statusCode, 200);
  const home = await browser.get('/');
  const csrf = csrfOf(home);
  t.equal((await browser.post('/logout', { _csrf: csrf })).statusCode, 303);
  let body = (await browser.get('/workshop/inspector')).body;
  t.match(body, 'Refresh request (refresh_token grant)');
  t.match(body, 'New access token decoded');
  t.match(body, 'Revocation request (RFC 7009)');
  t.match(body, 'Revocation response: 200');
  t.match(ctx.as.revokeCalls[0]!.traceparent, /^00-[0-9a-f]{32}-/);

  // A callback with the wrong iss: recorded as rejected in a new flow.
  const { state } = await startFlow(browser);
  t.equal((await browser.get(callbackUrl({ code: 'c', state, iss: 'https://evil.example' }))).statusCode, 400);
  body = (await browser.get('/workshop/inspector')).body;
  t.match(body, 'Authorization response rejected (iss check)');
  t.match(body, /✘ iss/);
  t.match(
    body,
    /<a href="\/workshop\/inspector\?trace=[0-9a-f]{32}">Connect my photos<\/a>/,
    'the earlier flow is listed',
  );
  const earlier = /href="\/workshop\/inspector\?trace=([0-9a-f]{32})"/.exec(body)![1]!;
  t.match((await browser.get(`/workshop/inspector?trace=${earlier}`)).body, 'Revocation request');

  // A genuine error response (access_denied) is recorded too.
  const second = await startFlow(browser);
  await browser.get(callbackUrl({ error: 'access_denied', state: second.state, iss: ctx.as.issuer }));
  t.match((await browser.get('/workshop/inspector')).body, 'Authorization response: error=access_denied');

  // Refused refresh: recorded as rejected.
  const other = await connect(ctx);
  ctx.as.validRefreshTokens.clear();
  ctx.rs.mode = 'revoked';
  await other.get('/photos');
  t.match((await other.get('/workshop/inspector')).body, /Refresh response: 400 invalid_grant/);
});

async function labApp(t: Tap, env: Record<string, string> = {}) {
  const servers = await startLabServers({ redirectUri: 'http://localhost:3000/callback', ttl: Number(env.TTL ?? 2) });
  const redis = createRedisPrefix('client-lab');
  const config = readConfig({
    WORKSHOP_MODE: 'true',
    WORKSHOP_TRACE_SECRET: TEST_TRACE_SECRET,
    AUTHORIZATION_SERVER: servers.as,
    RESOURCE_SERVER: servers.rs,
    LAB_OTHER_RESOURCE: servers.otherResource,
    LAB_RS_CLOCK_TOLERANCE: '0',
    LAB_MAX_WAIT: '5',
    LOG_LEVEL: 'silent',
    ...redis.env,
    ...env,
  });
  const app = await buildApp(config, { logger: false });
  t.teardown(async () => {
    await app.close();
    await servers.close();
    await redis.cleanup();
  });
  // The stand-in AS reads the lab's client metadata document from the app under test (it is not listening).
  servers.fetchDocument = async (url) => (await app.inject({ url: new URL(url).pathname })).json();
  const browser = new Browser(app);
  const lab = await browser.get('/workshop/lab');
  const csrf = csrfOf(lab, '/workshop/lab/run');
  // The lab page's form for this switch, sent as the page would, asking for the result as JSON.
  const run = async (id: string) => {
    const form = forms(lab.body, APP_URL).find((f) => f.fields.switch === id);
    if (!form) throw new Error(`no lab form for ${id}`);
    const sent = await browser.agent.request(form.action, {
      form: form.fields,
      headers: { accept: 'application/json' },
    });
    const res = sent.raw!;
    return {
      status: res.statusCode,
      result: res.json() as {
        asExpected: boolean;
        notRun?: string;
        traceId: string;
        observations: {
          label: string;
          status?: number;
          error?: string;
          title?: string;
          active?: boolean;
          ok: boolean;
        }[];
      },
    };
  };
  return { app, servers, browser, lab, csrf, run };
}

interface Tap {
  teardown(fn: () => unknown): void;
}

/** Each switch's decisive answer (the last observation): status and error code. */
const EXPECTED: Record<string, [number | undefined, string | undefined]> = {
  'no-pkce': [303, 'invalid_request'],
  'plain-pkce': [303, 'invalid_request'],
  'wrong-verifier': [400, 'invalid_grant'],
  'drop-state': [400, 'invalid_grant'],
  'reuse-state': [400, 'invalid_grant'],
  'wrong-iss': [undefined, 'iss mismatch'],
  'redirect-uri-off-by-one': [400, undefined],
  'code-twice': [400, 'invalid_grant'],
  'refresh-reuse': [400, 'invalid_grant'],
  'other-audience': [401, 'invalid_token'],
  'expired-token': [401, 'invalid_token'],
  'alg-none': [401, 'invalid_token'],
  'edited-payload': [401, 'invalid_token'],
  'missing-scope': [403, 'insufficient_scope'],
  'device-polls-too-fast': [400, 'slow_down'],
  'phished-user-code': [400, 'authorization_pending'],
  'metadata-document-mismatch': [400, undefined],
  'dpop-token-as-bearer': [401, 'invalid_token'],
  'dpop-other-key': [401, 'invalid_dpop_proof'],
  'dpop-replayed-proof': [401, 'invalid_dpop_proof'],
  'dpop-refresh-without-key': [400, 'invalid_grant'],
  'skip-par': [400, undefined],
};

t.test('every lab switch is refused with its expected answer (against stand-in servers)', async (t) => {
  const { run, lab, browser } = await labApp(t);
  t.match(lab.body, /The lab plays alice's browser for you/);
  t.equal(LAB_SWITCHES.length, 22);
  for (const s of LAB_SWITCHES) {
    const { status, result } = await run(s.id);
    t.equal(status, 200, `${s.id}: ran`);
    t.equal(result.asExpected, true, `${s.id}: as expected ${JSON.stringify(result.observations)}`);
    t.equal(result.notRun, undefined);
    const last = result.observations.at(-1)!;
    const expected = EXPECTED[s.id]!;
    t.equal(last.status, expected[0], `${s.id}: status`);
    t.equal(last.error, expected[1], `${s.id}: error`);
  }
  const page = await browser.get('/workshop/lab');
  // The inspector keeps the 20 latest flows per browser (store.ts): the page shows the last 20 results.
  t.equal((page.body.match(/data-as-expected="true"/g) ?? []).length, 20, 'the lab page shows every result');
  t.match(page.body, /see this run in the inspector/i);
});

t.test("a lab run is a flow in the inspector, with the servers' steps merged and drawn", async (t) => {
  const { run, browser, servers } = await labApp(t);
  const { result } = await run('wrong-verifier');
  t.ok(
    servers.traceparents.as.every((h) => h.includes(result.traceId)),
    'traceparent on every AS call',
  );
  const page = await browser.get(`/workshop/inspector?trace=${result.traceId}`);
  t.match(page.body, 'Lab: Redeem the code with a wrong verifier');
  t.match(page.body, 'Rejected: invalid_grant (PKCE verification failed)', "the AS's own step, merged");
  t.match(page.body, 'authorization server: 1 steps recorded');
  t.match(page.body, 'Signs in as alice');

  const edited = (await run('edited-payload')).result;
  const rsPage = (await browser.get(`/workshop/inspector?trace=${edited.traceId}`)).body;
  t.match(rsPage, 'Signature verified with the cached JWKS (no call to the AS)');
  t.match(rsPage, 'Rejected: invalid_token (signature verification failed)');
  t.same([...stepRoles(rsPage)].sort(), [...ROLES].sort());

  servers.tracesEnabled = false;
  t.match((await browser.get(`/workshop/inspector?trace=${edited.traceId}`)).body, 'resource server: not available');
});

t.test('the lab refuses forged forms and unknown switches; the HTML form redirects back', async (t) => {
  const { app, browser, csrf } = await labApp(t);
  const forged = await browser.post('/workshop/lab/run', { switch: 'no-pkce', _csrf: 'forged' });
  t.equal(forged.statusCode, 403);
  const unknown = await browser.post('/workshop/lab/run', { switch: 'nope', _csrf: csrf });
  t.equal(unknown.statusCode, 400);
  const ok = await browser.post('/workshop/lab/run', { switch: 'no-pkce', _csrf: csrf });
  t.equal(ok.statusCode, 303);
  t.equal(ok.headers.location, '/workshop/lab#no-pkce');
  t.equal((await app.inject({ method: 'POST', url: '/workshop/lab/run', payload: {} })).statusCode, 400);
});

t.test('wrong lab credentials or an unusable AS stop a switch with the reason, never a false success', async (t) => {
  const { run } = await labApp(t, { LAB_PASSWORD: 'not-wonderland' });
  const { result } = await run('wrong-verifier');
  t.equal(result.asExpected, false);
  t.match(result.observations[0], { ok: false, status: 401, error: 'Sign in' });
  const twice = await run('refresh-reuse');
  t.equal(twice.result.asExpected, false);
});

t.test('no expired token within LAB_MAX_WAIT: the switch says so instead of waiting', async (t) => {
  const { run } = await labApp(t, { TTL: '300', LAB_MAX_WAIT: '0' });
  const { result } = await run('expired-token');
  t.equal(result.asExpected, false);
  t.match(result.notRun, /LAB_MAX_WAIT \(0 s\)/);
});

t.test('the device switches draw a device flow: codes, the person at the verification page, polls', async (t) => {
  const { run, browser, app } = await labApp(t);
  const fast = (await run('device-polls-too-fast')).result;
  let body = (await browser.get(`/workshop/inspector?trace=${fast.traceId}`)).body;
  t.match(body, 'Device authorization request (RFC 8628 §3.1)');
  t.match(body, 'Device authorization response: 200');
  t.match(body, 'A public client', 'no Authorization header: the device has no secret');
  t.match(body, /The device shows the user code BCDF-[A-Z]{4}; it must poll at most every 1 s/);
  t.match(body, 'Poll 1, at once (the interval is 1 s)');
  t.match(body, 'slow_down: the interval is now 6 s');
  t.match(body, 'slow_down: the interval is now 11 s', 'the interval grows by 5 s each time');
  t.match(body, 'Not waiting 11 s for the token: more than LAB_MAX_WAIT (5 s)');
  t.match(fast.observations.at(-1)!.label, '3 polls at once: slow_down 2 times, the interval 1 s → 11 s');

  const phished = (await run('phished-user-code')).result;
  body = (await browser.get(`/workshop/inspector?trace=${phished.traceId}`)).body;
  t.match(body, 'The attacker sends alice the link: &quot;Confirm your account: ');
  t.match(body, 'alice&#39;s browser (played by the lab) opens the verification page: a link someone sent her');
  t.match(body, 'Only approve if you started this on a device in front of you.', 'the warning she reads');
  t.notMatch(body, 'Approves the device', 'the lab never approves the attacker');
  t.match(phished.observations[1], { ok: true, status: 200, title: 'Connect a device?' });

  const documentRes = await app.inject({ url: '/workshop/lab/client-metadata/mismatched' });
  t.equal(documentRes.statusCode, 200);
  t.match(documentRes.headers['content-type'], 'application/json');
  t.equal(documentRes.json().client_id, 'http://localhost:3000/workshop/lab/client-metadata/someone-else');
  t.same(documentRes.json().redirect_uris, ['http://localhost:3000/callback']);
  const mismatch = (await run('metadata-document-mismatch')).result;
  t.match(mismatch.observations[0], { ok: true, status: 400, title: 'This application cannot be used' });
});
