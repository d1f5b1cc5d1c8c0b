// Replica drills with containers: two authorization servers and two resource servers (the images, hardened as
// in Kubernetes) behind HAProxy (Debian's, in a container), on the test PostgreSQL and a Redis container, all
// on the host's loopback. A load generator plays eight browsers-and-clients running the whole flow at once:
// /authorize (login and consent on a worker's first flow, then its session) → code → token → photos →
// refresh → photos. Four drills under that traffic, each with its rule:
//   (a) `docker kill -s KILL` of one authorization server: only the requests in flight at that moment may fail;
//   (b) a rolling restart (SIGTERM, SHUTDOWN_DELAY_SECONDS, then start again) of all four: no request fails;
//   (c) a signing-key rotation (`node dist/keys.mjs rotate` in a replica): no token is rejected, and the new
//       key signs before the drill ends;
//   (d) Redis stopped for 4 s and started again: what fails is an outage answer (503 + Retry-After, or the
//       redirect with error=temporarily_unavailable), only while Redis is away, and the replicas recover
//       without a restart.
// The numbers go to docs/operations.md (printed as comments here). Needs real PostgreSQL (TEST_DATABASE_URL),
// runs with the real backends' mode only, and needs the images (support/docker.ts).
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { needsRealDatabase, needsRealRedis } from '@quartet/testing';
import { Browser, authorizationUrl, authorizeAs, pkcePair } from './support/browser.js';
import {
  HARDENED,
  TEST_IMAGES,
  answers,
  docker,
  dockerAsync,
  dockerReady,
  emptyDatabase,
  image,
  runOnce,
  startContainer,
  uniqueName,
  waitUntil,
} from './support/docker.js';
import { freePort } from './support/processes.js';

const skip = needsRealDatabase || needsRealRedis;
if (skip) t.plan(0, skip);
else if (
  dockerReady(t, [image('authorization-server'), image('resource-server'), TEST_IMAGES.redis, TEST_IMAGES.haproxy])
)
  await drills();

interface Outcome {
  step: string;
  start: number;
  end: number;
  status: number;
  ok: boolean;
  retryAfter: boolean;
  outage: boolean;
  detail: string;
}

async function drills() {
  t.setTimeout(420_000);
  const run = uniqueName('drills');
  const ports = {
    lbAuth: await freePort(),
    lbResource: await freePort(),
    as1: await freePort(),
    as2: await freePort(),
    rs1: await freePort(),
    rs2: await freePort(),
    redis: await freePort(),
  };
  const issuer = `http://localhost:${ports.lbAuth}`;
  const api = `http://localhost:${ports.lbResource}`;
  const REDIRECT = 'http://127.0.0.1:9/callback'; // never followed: the load generator reads the code off the redirect
  const SECRET = randomBytes(24).toString('base64url');

  // ---- Redis (with an append-only file, as a production Redis keeps its data across a restart)
  const redis = await startContainer(t, {
    name: `${run}-redis`,
    image: TEST_IMAGES.redis,
    command: ['redis-server', '--port', String(ports.redis), '--appendonly', 'yes', '--save', ''],
  });
  await waitUntil(
    'redis',
    () => docker(['exec', redis.name, 'redis-cli', '-p', String(ports.redis), 'ping']).stdout.trim() === 'PONG',
    30_000,
  );

  // ---- databases, migrated and seeded by the images' one-off commands
  const authDb = await emptyDatabase(t, 'drills_auth');
  const resourceDb = await emptyDatabase(t, 'drills_resource');
  const common = { HOST: '127.0.0.1', TRUST_PROXY: '127.0.0.1', SHUTDOWN_DELAY_SECONDS: '2', LOG_LEVEL: 'warn' };
  const authEnv = {
    ...common,
    DATABASE_URL: authDb,
    REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
    ISSUER: issuer,
    RESOURCE_AUDIENCE: api,
    DEMO_CLIENT_SECRET: SECRET,
    DEMO_CLIENT_REDIRECT_URI: REDIRECT,
    KEY_ENCRYPTION_SECRET: randomBytes(32).toString('base64url'),
    // One load generator is one address: the per-address limit on /authorize would throttle it.
    RATE_LIMIT_AUTHORIZE: '1000000',
    // Short key timings so that the rotation drill fits in seconds, consistent with the resource servers' cooldown.
    KEY_PUBLISH_DELAY: '6',
    KEY_RELOAD_INTERVAL: '2',
    RESOURCE_SERVER_JWKS_COOLDOWN: '3',
  };
  const rsEnv = {
    ...common,
    DATABASE_URL: resourceDb,
    RESOURCE_ID: api,
    AUTHORIZATION_SERVER: issuer,
    JWKS_COOLDOWN: '3',
  };
  for (const [service, env] of [
    ['authorization-server', authEnv],
    ['resource-server', rsEnv],
  ] as const) {
    for (const command of ['migrate', 'seed']) {
      const r = await runOnce({
        name: `${run}-${service}-${command}`,
        image: image(service),
        env,
        options: HARDENED,
        command: ['node', `dist/${command}.mjs`],
      });
      if (r.status !== 0) throw new Error(`${service} ${command}: ${r.stderr}`);
    }
  }

  // ---- four replicas
  const replicas = {
    as1: { service: 'authorization-server' as const, env: { ...authEnv, PORT: String(ports.as1) }, port: ports.as1 },
    as2: { service: 'authorization-server' as const, env: { ...authEnv, PORT: String(ports.as2) }, port: ports.as2 },
    rs1: { service: 'resource-server' as const, env: { ...rsEnv, PORT: String(ports.rs1) }, port: ports.rs1 },
    rs2: { service: 'resource-server' as const, env: { ...rsEnv, PORT: String(ports.rs2) }, port: ports.rs2 },
  };
  const names = Object.fromEntries(Object.keys(replicas).map((k) => [k, `${run}-${k}`])) as Record<
    keyof typeof replicas,
    string
  >;
  for (const [key, r] of Object.entries(replicas)) {
    await startContainer(t, {
      name: names[key as keyof typeof replicas],
      image: image(r.service),
      env: r.env,
      options: HARDENED,
    });
  }
  const ready = (port: number) => answers(`http://127.0.0.1:${port}/readyz`);
  await Promise.all(
    Object.values(replicas).map((r) => waitUntil(`replica on ${r.port} ready`, () => ready(r.port), 60_000)),
  );

  // ---- HAProxy: health checks on /readyz every 500 ms (down after 2 failures, up after 2 successes); a
  // connection that fails is retried on the other replica. When every replica of a backend reports not ready
  // (a Redis or PostgreSQL outage), the backup lines send to them anyway: their own answer (503 +
  // Retry-After, in the OAuth error shape) is better than the balancer's error page, which has neither.
  const config = mkdtempSync(join(tmpdir(), 'quartet-drills-'));
  t.teardown(() => rmSync(config, { recursive: true, force: true }));
  const backend = (name: string, a: number, b: number) => `
backend ${name}
  balance roundrobin
  option httpchk GET /readyz
  option allbackups
  default-server inter 500ms fall 2 rise 2
  server ${name}1 127.0.0.1:${a} check
  server ${name}2 127.0.0.1:${b} check
  server ${name}1-unready 127.0.0.1:${a} backup
  server ${name}2-unready 127.0.0.1:${b} backup`;
  writeFileSync(
    join(config, 'haproxy.cfg'),
    `
global
  log stdout format raw local0 notice
defaults
  mode http
  log global
  option forwardfor
  option redispatch
  retries 3
  retry-on conn-failure empty-response
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend auth
  bind 127.0.0.1:${ports.lbAuth}
  default_backend auth
frontend resource
  bind 127.0.0.1:${ports.lbResource}
  default_backend resource
${backend('auth', ports.as1, ports.as2)}
${backend('resource', ports.rs1, ports.rs2)}
`,
  );
  chmodSync(config, 0o755);
  chmodSync(join(config, 'haproxy.cfg'), 0o644);
  const lb = await startContainer(t, {
    name: `${run}-haproxy`,
    image: TEST_IMAGES.haproxy,
    options: ['-v', `${config}:/etc/haproxy:ro`],
  });
  await waitUntil(
    'haproxy',
    async () => (await answers(`${issuer}/readyz`)) && answers(`${api}/readyz`),
    30_000,
    () => lb.logs(),
  );

  // ---- the load generator
  const basic = `Basic ${Buffer.from(`demo-client:${SECRET}`).toString('base64')}`;
  let outcomes: Outcome[] = [];
  const kids = new Set<string>();
  async function step(
    name: string,
    url: string,
    init: RequestInit,
    judge: (res: Response, body: string) => boolean,
  ): Promise<{ res?: Response; body: string; ok: boolean }> {
    const start = Date.now();
    try {
      const res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
      const body = await res.text();
      const ok = judge(res, body);
      const location = res.headers.get('location') ?? '';
      const outage =
        (res.status === 503 && res.headers.has('retry-after')) || /[?&]error=temporarily_unavailable\b/.test(location);
      outcomes.push({
        step: name,
        start,
        end: Date.now(),
        status: res.status,
        ok,
        retryAfter: res.headers.has('retry-after'),
        outage: !ok && outage,
        detail: ok ? '' : `${res.status} ${location || body.slice(0, 160)}`,
      });
      return { res, body, ok };
    } catch (err) {
      outcomes.push({
        step: name,
        start,
        end: Date.now(),
        status: 0,
        ok: false,
        retryAfter: false,
        outage: false,
        detail: String(err),
      });
      return { body: '', ok: false };
    }
  }
  const form = (body: Record<string, string>): RequestInit => ({
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });

  async function worker(stopAt: () => boolean) {
    let browser: Browser | undefined;
    while (!stopAt()) {
      const { verifier, challenge } = pkcePair();
      const authorize = authorizationUrl(issuer, { redirectUri: REDIRECT, challenge });
      let code: string | null = null;
      let outage = false;
      const loggingIn = !browser;
      if (!browser) {
        // A new browser: login and consent pages (counted as one step; a failure starts over).
        browser = new Browser();
        const start = Date.now();
        try {
          const redirect = await authorizeAs(browser, authorize, REDIRECT);
          code = new URL(redirect).searchParams.get('code');
          outcomes.push({
            step: 'login',
            start,
            end: Date.now(),
            status: 303,
            ok: Boolean(code),
            retryAfter: false,
            outage: /error=temporarily_unavailable/.test(redirect),
            detail: code ? '' : redirect,
          });
        } catch (err) {
          // The pages' status codes are in the browser's history (their headers are not kept there).
          outage = /-> 503\b|temporarily_unavailable/.test(String(err));
          outcomes.push({
            step: 'login',
            start,
            end: Date.now(),
            status: 0,
            ok: false,
            retryAfter: outage,
            outage,
            detail: String(err).slice(0, 300),
          });
        }
      } else {
        const cookie = browser.cookieHeader(authorize);
        const r = await step(
          'authorize',
          authorize,
          { headers: { cookie, accept: 'text/html' } },
          (res) => res.status === 303 && /[?&]code=/.test(res.headers.get('location') ?? ''),
        );
        if (r.ok) code = new URL(r.res!.headers.get('location')!).searchParams.get('code');
        outage = outcomes.at(-1)!.outage;
      }
      // After an outage answer at /authorize the browser keeps its login session and tries again; after anything
      // else it starts over. So does a new browser whose login failed, outage or not: it may hold no session yet
      // (its login form was refused while Redis was away), and /authorize would rightly send it to log in.
      if (!code) {
        if (!outage || loggingIn) browser = undefined;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const token = await step(
        'token',
        `${issuer}/oauth/token`,
        form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }),
        (res) => res.status === 200,
      );
      if (!token.ok) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      const tokens = JSON.parse(token.body) as { access_token: string; refresh_token: string };
      kids.add(JSON.parse(Buffer.from(tokens.access_token.split('.')[0]!, 'base64url').toString()).kid);
      const photos = await step(
        'photos',
        `${api}/photos`,
        { headers: { authorization: `Bearer ${tokens.access_token}` } },
        (res) => res.status === 200,
      );
      if (!photos.ok) continue;
      const refreshed = await step(
        'refresh',
        `${issuer}/oauth/token`,
        form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
        (res) => res.status === 200,
      );
      if (!refreshed.ok) continue;
      const access = (JSON.parse(refreshed.body) as { access_token: string }).access_token;
      await step(
        'photos',
        `${api}/photos`,
        { headers: { authorization: `Bearer ${access}` } },
        (res) => res.status === 200,
      );
    }
  }

  /** Runs the load for the drill: `event` starts after `before` ms; the load goes on `after` ms past its end. */
  async function underLoad(label: string, before: number, after: number, event: () => Promise<Record<string, number>>) {
    outcomes = [];
    let stop = false;
    const workers = Array.from({ length: 8 }, () => worker(() => stop));
    await new Promise((r) => setTimeout(r, before));
    const marks = await event();
    await new Promise((r) => setTimeout(r, after));
    stop = true;
    await Promise.all(workers);
    const failed = outcomes.filter((o) => !o.ok);
    const seconds = (outcomes.at(-1)!.end - outcomes[0]!.start) / 1000;
    t.comment(
      `${label}: ${outcomes.length} requests in ${seconds.toFixed(1)} s (${(outcomes.length / seconds).toFixed(0)}/s), ${failed.length} failed` +
        (failed.length ? ` — ${[...new Set(failed.map((f) => `${f.step} ${f.status}`))].join(', ')}` : ''),
    );
    return { failed, marks, all: outcomes };
  }

  const stopped = (name: string) => dockerAsync(['stop', '-t', '30', name]);
  const started = async (name: string, port: number) => {
    const r = await dockerAsync(['start', name]);
    if (r.status !== 0) throw new Error(r.stderr);
    await waitUntil(`${name} ready again`, () => ready(port), 60_000);
    await new Promise((r) => setTimeout(r, 1500)); // HAProxy's rise: two good checks 500 ms apart
  };

  t.test('(a) kill -9 of an authorization server mid-traffic: only requests in flight fail', async (t) => {
    const { failed, marks, all } = await underLoad('kill -9', 4000, 8000, async () => {
      const killAt = Date.now();
      await dockerAsync(['kill', '-s', 'KILL', names.as1]);
      return { killAt, killed: Date.now() };
    });
    t.ok(all.filter((o) => o.ok && o.start > marks.killed!).length > 20, 'traffic went on at the other replica');
    t.ok(failed.length <= 8, `at most one request in flight per worker failed (${failed.length})`);
    t.same(
      failed.filter((f) => f.start > marks.killed!),
      [],
      'no request started after the kill failed',
    );
    t.comment(`kill -9: ${failed.length} failed, all started before the kill`);
    await started(names.as1, ports.as1);
  });

  t.test('(b) rolling restart with SIGTERM and SHUTDOWN_DELAY_SECONDS: no request fails', async (t) => {
    const order = ['as1', 'as2', 'rs1', 'rs2'] as const;
    const { failed, all } = await underLoad('rolling restart', 3000, 3000, async () => {
      for (const key of order) {
        const stop = await stopped(names[key]);
        if (stop.status !== 0) throw new Error(stop.stderr);
        await started(names[key], replicas[key].port);
      }
      return {};
    });
    t.same(
      failed.map((f) => `${f.step} ${f.detail}`),
      [],
      'zero failed requests while each of the four restarted',
    );
    t.ok(all.length > 100, `traffic ran throughout (${all.length} requests)`);
    for (const key of order) {
      t.equal(
        docker(['inspect', '--format', '{{.RestartCount}} {{.State.Running}}', names[key]]).stdout.trim().split(' ')[1],
        'true',
        `${key} runs again`,
      );
    }
  });

  t.test('(c) signing-key rotation under traffic: no token rejected', async (t) => {
    const before = new Set(kids);
    const { failed, all } = await underLoad('key rotation', 3000, 14_000, async () => {
      const r = await dockerAsync(['exec', names.as2, 'node', 'dist/keys.mjs', 'rotate']);
      if (r.status !== 0) throw new Error(`keys rotate: ${r.stderr}`);
      return {};
    });
    const fresh = [...kids].filter((k) => !before.has(k));
    t.equal(fresh.length, 1, `a new key signed tokens during the drill (${fresh.join(', ')})`);
    t.same(
      failed.map((f) => `${f.step} ${f.detail}`),
      [],
      'zero failed requests: every token verified at both resource servers',
    );
    t.ok(all.filter((o) => o.step === 'photos').length > 50, 'photos were read throughout');
  });

  t.test(
    '(d) Redis restarted mid-traffic: outage answers only while it is away, recovery without restarts',
    async (t) => {
      const startedAt = (key: keyof typeof replicas) =>
        docker(['inspect', '--format', '{{.State.StartedAt}}', names[key]]).stdout.trim();
      const before = Object.fromEntries(
        (Object.keys(replicas) as (keyof typeof replicas)[]).map((k) => [k, startedAt(k)]),
      );
      const { failed, marks, all } = await underLoad('Redis restart', 3000, 10_000, async () => {
        const stopAt = Date.now();
        await dockerAsync(['stop', redis.name]);
        const downAt = Date.now();
        await new Promise((r) => setTimeout(r, 4000));
        await dockerAsync(['start', redis.name]);
        const upAt = Date.now();
        return { stopAt, downAt, upAt };
      });
      t.ok(failed.length > 0, `the outage was noticed (${failed.length} outage answers)`);
      const notOutage = failed.filter((f) => !f.outage);
      t.same(
        notOutage.map((f) => `${f.step} ${f.detail}`),
        [],
        'every failure is 503 + Retry-After (or the redirect with temporarily_unavailable)',
      );
      const last = Math.max(...failed.map((f) => f.end));
      const recovery = (last - marks.upAt!) / 1000;
      t.ok(
        failed.every((f) => f.end >= marks.stopAt!),
        'nothing failed before Redis stopped',
      );
      t.ok(recovery < 5, `the last outage answer came ${recovery.toFixed(1)} s after Redis was back`);
      const afterwards = all.filter((o) => o.start > last);
      t.ok(
        afterwards.length > 50 && afterwards.every((o) => o.ok),
        `${afterwards.length} requests after recovery, all good`,
      );
      for (const key of Object.keys(replicas) as (keyof typeof replicas)[]) {
        t.equal(startedAt(key), before[key], `${key} was not restarted`);
      }
      const during = all.filter((o) => o.end >= marks.stopAt! && o.start <= marks.upAt!);
      const slowest = Math.max(...during.map((o) => o.end - o.start));
      const succeeded = during.filter((o) => o.ok).length;
      t.comment(
        `Redis restart: ${during.length} requests overlapped the outage, ${succeeded} of them succeeded ` +
          `(the ones that needed no Redis, or waited for it), the slowest took ${slowest} ms`,
      );
      const firstFailure = (Math.min(...failed.map((f) => f.start)) - marks.stopAt!) / 1000;
      t.comment(
        `Redis restart: ${failed.length} outage answers between ${firstFailure.toFixed(1)} s after the stop ` +
          `and ${recovery.toFixed(1)} s after the start`,
      );
    },
  );
}
