// Workshop mode across real processes: the three services run with WORKSHOP_MODE=true (the authorization server
// also knowing a second resource, a 3-second access token lifetime, the resource server a 1-second clock
// tolerance), and EVERY switch of the client app's "break it, fix it" lab is run over HTTP and must be refused
// with exactly the server error its defence gives — so the lab can never silently start succeeding. Then a
// normal connect is read back in the flow inspector: steps of all four roles, and the servers' own steps for
// the trace (PKCE verified at the AS, the signature verified at the RS without calling the AS).
// Real PostgreSQL/Redis when TEST_DATABASE_URL / TEST_REDIS_URL are set, else the embedded backends.
import t from 'tap';
import { Browser, forms, submission, type Page } from './support/browser.js';
import { openLab, type LabResult } from './support/lab.js';
import { startStack } from './support/stack.js';

const OTHER_RESOURCE = 'http://localhost:9200';

t.setTimeout(300_000);

const workshop = { WORKSHOP_MODE: 'true' };
const { urls } = await startStack(t, {
  name: 'lab',
  // DEVICE_POLL_INTERVAL 1 s: the device switch's honest end (after two slow_downs, 11 s) fits in LAB_MAX_WAIT.
  auth: () => ({ ...workshop, RESOURCES: OTHER_RESOURCE, ACCESS_TOKEN_TTL: '3', DEVICE_POLL_INTERVAL: '1' }),
  resource: () => ({ ...workshop, CLOCK_TOLERANCE: '1' }),
  client: () => ({ ...workshop, LAB_OTHER_RESOURCE: OTHER_RESOURCE, LAB_RS_CLOCK_TOLERANCE: '1', LAB_MAX_WAIT: '20' }),
});

const browser = new Browser();
const { page: labPage, forms: labForms, run: runSwitch } = await openLab(browser, urls.client);

const last = <T>(xs: T[]): T => xs[xs.length - 1]!;
const byLabel = (result: LabResult, label: RegExp) => {
  const found = result.observations.find((o) => label.test(o.label));
  if (!found) throw new Error(`no observation ${label} in ${JSON.stringify(result.observations)}`);
  return found;
};

t.test('the lab page explains itself and offers every switch', async (t) => {
  t.equal(labPage.status, 200);
  t.match(labPage.body, /The lab plays alice's browser for you/);
  t.equal(labForms.length, 22, 'twenty-two switches, each with a run button');
  t.match(labPage.body, /The attack it enables/);
  t.match(labPage.body, /The defence/);
});

/** Runs a switch and checks the common shape: ran, as expected, the decisive answer exactly as given. */
async function expectRefusal(
  t: Tap,
  id: string,
  status: number | undefined,
  error: string | undefined,
): Promise<LabResult> {
  const result = await runSwitch(id);
  t.equal(result.notRun, undefined, `${id}: ran`);
  t.equal(result.asExpected, true, `${id}: the defence held ${JSON.stringify(result.observations)}`);
  const decisive = last(result.observations);
  t.equal(decisive.status, status, `${id}: status`);
  t.equal(decisive.error, error, `${id}: error`);
  t.ok(
    result.observations.every((o) => o.ok),
    `${id}: every observation as expected`,
  );
  return result;
}

type Tap = Pick<typeof t, 'equal' | 'ok' | 'match'>;

t.test('PKCE: no challenge and "plain" are refused at /authorize (redirect error=invalid_request)', async (t) => {
  const none = await expectRefusal(t, 'no-pkce', 303, 'invalid_request');
  t.match(last(none.observations).errorDescription, /code_challenge/);
  const plain = await expectRefusal(t, 'plain-pkce', 303, 'invalid_request');
  t.match(last(plain.observations).errorDescription, /S256/);
});

t.test(
  'a stolen DPoP-bound token is refused by the resource server: as Bearer, with another key, with a replayed proof (RFC 9449 §7.1, §11.1)',
  async (t) => {
    await expectRefusal(t, 'dpop-token-as-bearer', 401, 'invalid_token');
    await expectRefusal(t, 'dpop-other-key', 401, 'invalid_dpop_proof');
    await expectRefusal(t, 'dpop-replayed-proof', 401, 'invalid_dpop_proof');
  },
);

t.test("a public client's stolen refresh token without its DPoP key: 400 invalid_grant (RFC 9449 §5)", async (t) => {
  await expectRefusal(t, 'dpop-refresh-without-key', 400, 'invalid_grant');
});

// (test/par-dpop.test.ts runs it against an authorization server that requires PAR, and sees it refused.)
t.test('skipping PAR is not run where the authorization server does not require PAR', async (t) => {
  const result = await runSwitch('skip-par');
  t.ok(result.notRun, 'the switch says why it did not run');
});

t.test('a wrong verifier is refused at the token endpoint: 400 invalid_grant', async (t) => {
  await expectRefusal(t, 'wrong-verifier', 400, 'invalid_grant');
});

t.test("dropped or reused state: bob's injected code is refused because alice's verifier does not match", async (t) => {
  for (const id of ['drop-state', 'reuse-state']) {
    const result = await expectRefusal(t, id, 400, 'invalid_grant');
    t.equal(byLabel(result, /issues a code to bob/).ok, true, `${id}: the attacker really obtained a code`);
  }
});

t.test("a wrong iss is rejected by the client's RFC 9207 check before any token request", async (t) => {
  const result = await expectRefusal(t, 'wrong-iss', undefined, 'iss mismatch');
  t.equal(last(result.observations).by, 'client');
});

t.test('a redirect URI off by one character: error page (400), never a redirect', async (t) => {
  const result = await expectRefusal(t, 'redirect-uri-off-by-one', 400, undefined);
  const o = last(result.observations);
  t.equal(o.title, 'Invalid authorization request');
  t.match(o.errorDescription, /redirect_uri is not registered/);
});

t.test('the same code twice: 400 invalid_grant, and the first tokens are revoked', async (t) => {
  const result = await expectRefusal(t, 'code-twice', 400, 'invalid_grant');
  t.match(byLabel(result, /^first redemption$/), { status: 200, ok: true });
  t.match(byLabel(result, /second redemption/), { status: 400, error: 'invalid_grant' });
  t.match(byLabel(result, /introspection/), { status: 200, active: false });
  t.match(byLabel(result, /first refresh token/), { status: 400, error: 'invalid_grant' });
});

t.test('an old refresh token reused: invalid_grant, and the new one is dead too', async (t) => {
  const result = await expectRefusal(t, 'refresh-reuse', 400, 'invalid_grant');
  t.match(byLabel(result, /old refresh token/), { status: 400, error: 'invalid_grant' });
  t.match(byLabel(result, /new refresh token/), { status: 400, error: 'invalid_grant' });
});

t.test(
  'the resource server refuses a token for another audience, expired, alg none or edited: 401 invalid_token',
  async (t) => {
    await expectRefusal(t, 'other-audience', 401, 'invalid_token');
    // Tokens live 3 s here; the lab keeps the ones it obtained and waits (bounded) for one to expire.
    await expectRefusal(t, 'expired-token', 401, 'invalid_token');
    for (const id of ['alg-none', 'edited-payload']) {
      const result = await expectRefusal(t, id, 401, 'invalid_token');
      t.match(byLabel(result, /genuine token works/), { status: 200 }, `${id}: the same token untouched is accepted`);
    }
  },
);

t.test('a token lacking the scope: 403 insufficient_scope', async (t) => {
  const result = await expectRefusal(t, 'missing-scope', 403, 'insufficient_scope');
  t.match(byLabel(result, /genuine token works at GET \/documents/), { status: 200 });
});

t.test(
  'a device polling too fast hears slow_down, its interval grows, and waiting as told gets the token',
  async (t) => {
    const result = await expectRefusal(t, 'device-polls-too-fast', 400, 'slow_down');
    t.match(last(result.observations), { label: '3 polls at once: slow_down 2 times, the interval 1 s → 11 s' });
    t.match(last(result.observations).errorDescription, /wait at least 11 seconds/);
    t.match(byLabel(result, /waited the grown interval/), { status: 200, ok: true });
    const page = await browser.request(`${urls.client}/workshop/inspector?trace=${result.traceId}`);
    for (const step of [
      'Device authorization request (RFC 8628 §3.1)',
      'Device authorization response: 200',
      'Poll 1, at once (the interval is 1 s)',
      'slow_down: the interval is now 11 s',
      'Approves the device&#39;s request (alice, played by the lab)',
      'Poll 4, after 11 s',
      'The device calls the API with alice&#39;s token',
      'GET /photos',
    ])
      t.match(page.body, step, `the inspector shows: ${step}`);
    t.match(page.body, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="sequence"/, 'drawn as a sequence diagram');
  },
);

t.test("a phished user code: alice sees the consent page's warning, the attacker's device gets nothing", async (t) => {
  const result = await expectRefusal(t, 'phished-user-code', 400, 'authorization_pending');
  const seen = byLabel(result, /the page alice sees/);
  t.match(seen, { status: 200, title: /^Allow Workshop Device on your device/, ok: true });
  t.equal(
    seen.errorDescription,
    'Allow only if this code is shown on a device in front of you that you started yourself. If someone sent you this code or link, choose Deny: whoever holds the device would get access to your account.',
    'the warning, as she reads it',
  );
  const page = await browser.request(`${urls.client}/workshop/inspector?trace=${result.traceId}`);
  t.notMatch(page.body, 'Approves the device', 'the lab never approves the attacker');
});

t.test('a metadata document whose client_id is another URL: error page (400), never a redirect', async (t) => {
  const result = await expectRefusal(t, 'metadata-document-mismatch', 400, undefined);
  t.match(last(result.observations), { title: 'This application cannot be used' });
  t.match(last(result.observations).errorDescription, /client_id does not equal the URL it was fetched from/);
});

t.test("lab runs are flows in the inspector, with the servers' own steps", async (t) => {
  const result = await runSwitch('wrong-verifier');
  const page = await browser.request(`${urls.client}/workshop/inspector?trace=${result.traceId}`);
  t.equal(page.status, 200);
  t.match(page.body, 'Lab: Redeem the code with a wrong verifier');
  if (/authorization server: \d+ steps recorded/.test(page.body)) t.match(page.body, /PKCE failed/);
  else t.comment('authorization server trace endpoint not available: AS steps not checked');
});

async function connect(user: Browser): Promise<Page> {
  let page = await user.request(`${urls.client}/connect`);
  for (let i = 0; i < 12 && page.location; i++) {
    page = await user.request(page.location);
    const form = forms(page).find((f) => f.method === 'POST' && /\/interaction\/(login|consent)/.test(f.action));
    if (page.status === 200 && form) {
      page = /login/.test(form.action)
        ? await user.request(form.action, { form: submission(form, { username: 'alice', password: 'wonderland' }) })
        : await user.request(form.action, { form: submission(form, {}, /^(approve|allow|yes)/i) });
    }
  }
  return page;
}

t.test("after a normal connect the inspector shows all four roles and each server's own steps", async (t) => {
  const alice = new Browser();
  const photos = await connect(alice);
  t.equal(photos.status, 200, `photos page (${alice.history.join(', ')})`);
  t.match(photos.body, 'href="/workshop/inspector"', 'the inspector is reachable from the page');
  const page = await alice.request(`${urls.client}/workshop/inspector`);
  t.equal(page.status, 200);
  const roles = new Set([...page.body.matchAll(/data-role="([^"]+)"/g)].map((m) => m[1]));
  for (const role of ['resource owner', 'client', 'authorization server', 'resource server'])
    t.ok(roles.has(role), `a step of the ${role}`);
  t.match(page.body, /<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="sequence"/);
  t.match(page.body, /code_verifier\s+= [A-Za-z0-9_-]{43}/, 'the PKCE verifier → challenge computation');
  t.match(page.body, 'Basic base64(demo-client:••••••••)');
  t.notMatch(page.body, 'demo-client-secret');
  t.notMatch(page.body, /eyJ[A-Za-z0-9_-]{10,}\.eyJ/, 'no whole token');
  t.match(page.body, /data-expires-at="\d+"/, 'the expiry countdown');
  if (/authorization server: \d+ steps recorded/.test(page.body)) {
    t.match(page.body, 'PKCE verified (S256)');
    t.match(page.body, /User logged in as alice|Login session found/, 'the browser leg, attached to the trace');
  } else t.comment('authorization server trace endpoint not available: AS steps not checked');
  if (/resource server: \d+ steps recorded/.test(page.body)) t.match(page.body, /Signature verified with key kid=/);
  else t.comment('resource server trace endpoint not available: RS steps not checked');
});
