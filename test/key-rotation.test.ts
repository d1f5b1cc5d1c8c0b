// Signing key rotation under traffic (RFC 7517 key sets, RFC 9068 access tokens): two authorization server
// replicas and the resource server run as real processes; tokens are issued continuously (alternately by
// each replica, through the authorization code flow) and used continuously at the resource server while the
// documented `npm run keys -- rotate` runs. Checked: no valid token is ever rejected, the new key is in every
// replica's JWKS before it signs, both replicas switch at the same time, old tokens keep working during the
// overlap, the resource server picks the new key up without a restart, and the old key leaves the JWKS once
// every token it signed has expired.
//
// Timing: KEY_PUBLISH_DELAY is 36 s because the resource server refetches the JWKS for an unknown kid at most
// once per 30 s (jose's cooldown, not configurable there) and the replicas re-read keys every second
// (KEY_RELOAD_INTERVAL=1): the documented rule KEY_PUBLISH_DELAY > cooldown + reload interval, here with 5 s
// to spare so a loaded CI machine (a late reload timer) cannot make it flaky. Tokens live 5 s, the resource
// server tolerates 1 s of clock skew, and the rotation uses a 2 s retire margin, so the whole schedule takes
// about 44 s after the command runs.
//
// Needs a real PostgreSQL (TEST_DATABASE_URL): the command and the running replicas share the database,
// and an embedded database folder has one opener. TEST_REDIS_URL shares login sessions between replicas;
// without it each replica keeps its own, so the flow is walked once per replica.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { createRedisPrefix, createTestDatabase, describeTestBackends, needsRealDatabase } from '@quartet/testing';
import { Browser, forms, submission } from './support/browser.js';
import { freePort, root, startService, type RunningService } from './support/processes.js';

const AUTH = 'services/authorization-server';
const RESOURCE = 'services/resource-server';
const PUBLISH_DELAY = 36;
const TOKEN_TTL = 5;
const RETIRE_MARGIN = 2;
const CLOCK_TOLERANCE = 1;

t.setTimeout(150_000);

interface KeyInfo {
  kid: string;
  state: string;
  activatedAt: string | null;
  retiredAt: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kidOf = (jwt: string) =>
  (JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;

/** `npm run keys -w @quartet/authorization-server -- <args>`, run the way the README says. */
function keysCommand(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [tsx, 'src/cli/keys.ts', ...args],
      { cwd: join(root, AUTH), env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

t.test('a key rotation under traffic rejects no valid token', { skip: needsRealDatabase }, async (t) => {
  const [authPortA, authPortB, resourcePort, callbackPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const issuer = `http://localhost:${authPortA}`;
  const replicas = [issuer, `http://localhost:${authPortB}`];
  const resource = `http://localhost:${resourcePort}`;
  const redirectUri = `http://localhost:${callbackPort}/callback`; // never fetched: the code is read from Location

  const authDb = await createTestDatabase(join(root, AUTH, 'prisma', 'migrations'), 'rotation_auth');
  const resourceDb = await createTestDatabase(join(root, RESOURCE, 'prisma', 'migrations'), 'rotation_resource');
  const authRedis = createRedisPrefix('rotation-auth');
  const running: RunningService[] = [];
  t.teardown(async () => {
    await Promise.all(running.map((s) => s.stop()));
    await Promise.all([authDb.drop(), resourceDb.drop(), authRedis.cleanup()]);
  });
  t.comment(`backends: ${describeTestBackends()}`);

  const keyEnv = {
    ...authDb.env,
    ACCESS_TOKEN_TTL: String(TOKEN_TTL),
    KEY_PUBLISH_DELAY: String(PUBLISH_DELAY),
    KEY_RELOAD_INTERVAL: '1',
  };
  const authEnv = {
    ...keyEnv,
    ...authRedis.env,
    SEED_DEMO_DATA: 'true',
    ISSUER: issuer,
    RESOURCE_AUDIENCE: resource,
    DEMO_CLIENT_REDIRECT_URI: redirectUri,
  };
  // The first replica creates the key; the second starts on it (as a second pod would).
  running.push(await startService('authorization-server-a', AUTH, authPortA, authEnv));
  running.push(
    ...(await Promise.all([
      startService('authorization-server-b', AUTH, authPortB, authEnv),
      startService('resource-server', RESOURCE, resourcePort, {
        ...resourceDb.env,
        AUTO_MIGRATE: 'true',
        SEED_DEMO_DATA: 'true',
        RESOURCE_ID: resource,
        AUTHORIZATION_SERVER: issuer,
        CLOCK_TOLERANCE: String(CLOCK_TOLERANCE),
      }),
    ])),
  );
  const resourcePid = running[2]!.child.pid;

  // --- Tokens: alice logs in and consents once per replica's session store; after that /authorize answers
  // straight away with a code, which is exchanged at the token endpoint of the same replica.
  const browsers = replicas.map(() => new Browser());
  async function token(replica: number): Promise<string> {
    const base = replicas[replica]!;
    const browser = browsers[replica]!;
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'demo-client',
      redirect_uri: redirectUri,
      scope: 'photos:read',
      state: randomBytes(8).toString('hex'),
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    let page = await browser.request(`${base}/authorize?${query}`);
    for (let step = 0; step < 6 && !page.location?.startsWith(redirectUri); step++) {
      if (page.location) {
        page = await browser.request(page.location);
        continue;
      }
      const form = forms(page).find((f) => f.method === 'POST');
      if (!form) throw new Error(`unexpected page ${page.url} (${page.status})`);
      page = /password/.test(page.body)
        ? await browser.request(form.action, { form: submission(form, { username: 'alice', password: 'wonderland' }) })
        : await browser.request(form.action, { form: submission(form, {}, /^(approve|allow|yes)/i) });
    }
    const code = page.location ? new URL(page.location).searchParams.get('code') : null;
    if (!code) throw new Error(`no code from ${base}: ${page.status} ${page.location}`);
    const res = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('demo-client:demo-client-secret').toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: redirectUri,
      }),
    });
    if (res.status !== 200) throw new Error(`token endpoint of ${base} answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  interface Issued {
    token: string;
    kid: string;
    replica: number;
    requestedAt: number;
    answeredAt: number;
    expiresAt: number;
  }
  const issued: Issued[] = [];
  const calls: Array<{ at: number; kid: string; status: number; body?: string }> = [];
  const jwksSamples: Array<{ at: number; replica: number; kids: string[] }> = [];
  const errors: string[] = [];
  let stop = false;

  async function mint(): Promise<void> {
    for (let n = 0; !stop; n++) {
      const replica = n % replicas.length;
      const requestedAt = Date.now();
      try {
        const jwt = await token(replica);
        const answeredAt = Date.now();
        issued.push({
          token: jwt,
          kid: kidOf(jwt),
          replica,
          requestedAt,
          answeredAt,
          expiresAt: requestedAt + TOKEN_TTL * 1000,
        });
      } catch (err) {
        errors.push(`minting at replica ${replica}: ${(err as Error).message}`);
      }
      await sleep(150);
    }
  }

  // Uses tokens that are still valid with room to spare, the oldest first, so tokens of the old key keep
  // being presented right up to their expiry (the overlap is what rotation must get right).
  async function call(worker: number): Promise<void> {
    for (let n = 0; !stop; n++) {
      const usable = issued.filter((i) => i.expiresAt - Date.now() > 1500);
      const pick = usable.length ? ((n + worker) % 2 === 0 ? usable[0]! : usable[usable.length - 1]!) : undefined;
      if (!pick) {
        await sleep(50);
        continue;
      }
      try {
        const res = await fetch(`${resource}/photos`, { headers: { authorization: `Bearer ${pick.token}` } });
        const body = await res.text();
        calls.push({
          at: Date.now(),
          kid: pick.kid,
          status: res.status,
          body: res.status === 200 ? undefined : `${body} ${res.headers.get('www-authenticate') ?? ''}`,
        });
      } catch (err) {
        errors.push(`calling the resource server: ${(err as Error).message}`);
      }
      await sleep(20);
    }
  }

  async function watchJwks(): Promise<void> {
    while (!stop) {
      await Promise.all(
        replicas.map(async (base, replica) => {
          try {
            const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as {
              keys: Array<{ kid: string }>;
            };
            jwksSamples.push({ at: Date.now(), replica, kids: jwks.keys.map((k) => k.kid).sort() });
          } catch (err) {
            errors.push(`JWKS of replica ${replica}: ${(err as Error).message}`);
          }
        }),
      );
      await sleep(200);
    }
  }

  const traffic = Promise.all([mint(), call(0), call(1), call(2), watchJwks()]);
  // Let the resource server fetch the JWKS (first token) before the rotation, as in a running deployment.
  while (!calls.some((c) => c.status === 200) && errors.length === 0) await sleep(100);
  const oldKid = issued[0]!.kid;

  const rotated = await keysCommand(['rotate', '--retire-margin', String(RETIRE_MARGIN)], keyEnv);
  t.equal(rotated.code, 0, `keys rotate: ${rotated.stderr}`);
  t.equal(rotated.stderr, '', 'no warning: the publish delay respects the resource server cooldown');
  t.comment(rotated.stdout.trim());
  const listed = await keysCommand(['list', '--json'], keyEnv);
  const keys = JSON.parse(listed.stdout) as KeyInfo[];
  const newKey = keys.find((k) => k.kid !== oldKid)!;
  const oldKey = keys.find((k) => k.kid === oldKid)!;
  t.match(newKey, { state: 'published' });
  t.match(oldKey, { state: 'active' });
  const switchAt = Date.parse(newKey.activatedAt!);
  const retireAt = Date.parse(oldKey.retiredAt!);
  t.equal(
    retireAt - switchAt,
    (TOKEN_TTL + RETIRE_MARGIN) * 1000,
    'retirement after the last old token expired, plus the margin',
  );

  while (Date.now() < retireAt + 1500 && errors.length === 0) await sleep(200);
  stop = true;
  await traffic;

  t.same(errors, [], 'no failure to mint, call or fetch');
  const rejected = calls.filter((c) => c.status !== 200);
  t.same(rejected, [], 'zero rejected valid tokens');
  t.ok(calls.length > 200, `${calls.length} calls made`);
  const ms = (at: number) => `${((at - switchAt) / 1000).toFixed(1)} s`;
  t.comment(
    `issued ${issued.length} tokens, ${calls.length} resource server calls; switch at ${new Date(switchAt).toISOString()}`,
  );

  // Publication before use, on every replica.
  for (const replica of replicas.keys()) {
    const published = jwksSamples.filter((s) => s.replica === replica && s.kids.includes(newKey.kid));
    t.ok(
      published.length && published[0]!.at < switchAt - (PUBLISH_DELAY - 3) * 1000,
      `replica ${replica} published the new key within seconds of the rotation, long before the switch (${published[0] && ms(published[0].at)})`,
    );
    t.ok(
      jwksSamples.some((s) => s.replica === replica && s.at > switchAt && s.at < retireAt && s.kids.length === 2),
      `replica ${replica} published both keys during the overlap`,
    );
    const afterRetire = jwksSamples.filter((s) => s.replica === replica && s.at > retireAt + 200);
    t.ok(
      afterRetire.length > 0 && afterRetire.every((s) => s.kids.join() === newKey.kid),
      `replica ${replica} dropped the old key after retirement`,
    );
  }
  t.notOk(
    jwksSamples.some((s) => s.at < retireAt - 200 && !s.kids.includes(oldKid)),
    'the old key was published until retirement',
  );

  // Both replicas sign with the old key up to the switch and with the new one after it.
  const SLACK = 100;
  const before = issued.filter((i) => i.answeredAt < switchAt - SLACK);
  const after = issued.filter((i) => i.requestedAt > switchAt + SLACK);
  t.ok(
    before.every((i) => i.kid === oldKid),
    'tokens issued before the switch carry the old kid',
  );
  t.ok(
    after.length > 10 && after.every((i) => i.kid === newKey.kid),
    `tokens issued after the switch carry the new kid (${after.length})`,
  );
  for (const replica of replicas.keys())
    t.ok(
      after.some((i) => i.replica === replica),
      `replica ${replica} issued tokens with the new key`,
    );

  // The overlap: tokens of the old key accepted after the switch; tokens of the new key accepted without a restart.
  t.ok(
    calls.some((c) => c.kid === oldKid && c.at > switchAt + 2000 && c.status === 200),
    'old-key tokens accepted after the switch',
  );
  t.ok(
    calls.filter((c) => c.kid === newKey.kid && c.status === 200).length > 50,
    'new-key tokens accepted by the resource server',
  );
  t.equal(running[2]!.child.pid, resourcePid);
  t.equal(running[2]!.child.exitCode, null, 'the resource server was not restarted');

  const final = await keysCommand(['list', '--json'], keyEnv);
  t.same(
    (JSON.parse(final.stdout) as KeyInfo[]).map((k) => [k.kid, k.state]),
    [
      [newKey.kid, 'active'],
      [oldKid, 'retired'],
    ],
    'keys list after retirement',
  );
});
