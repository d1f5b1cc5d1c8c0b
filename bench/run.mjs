#!/usr/bin/env node
// `npm run bench`: Quartet's hot paths under load, on loopback, against real PostgreSQL and Redis.
//
// The services run as production runs them (the bundles of `npm run build`, plain node, LOG_LEVEL=warn) on
// fresh databases (quartet_bench_auth_<id>, quartet_bench_resource_<id>, migrated and seeded with the bundled
// CLIs) and a unique Redis prefix; everything is removed at the end. Every load is bounded in time.
//
// Scenarios (see docs/benchmarks.md for what each measures and the targets):
//   baseline                  a bare Fastify route (same Fastify) in its own process: the machine's yardstick
//   token-code                POST /oauth/token, authorization_code: codes issued through the real GET /authorize
//                             for a logged-in user, each redeemed once with Basic client auth + its PKCE verifier
//   token-refresh             POST /oauth/token, refresh_token with rotation (each response's token used next)
//   token-client-credentials  POST /oauth/token, client_credentials
//   resource-read             GET /photos/:id at the resource server with a valid token
//   limit-token-code,         the same two requests against bench/limit-server.mjs, the minimal Fastify + ioredis +
//   limit-resource-read       pg + jose program that stands for the machine's limit; printed as "× limit"
//   flow                      authorize → code → token → one API call, completed flows per second
//   startup                   spawn → first 200 from /readyz per service, and RSS at idle
//
// Options (flags or BENCH_* environment variables):
//   --duration=S (10)  --warmup=S (2)  --connections=N (16)  --flow-workers=N (16)  --repeat=N (1)
//   --startup-repeat=N (3)  --only=a,b  --profile (AS, RS and, for limit-* scenarios, the limit program under
//   --cpu-prof; see bench/profile-summary.mjs)
//   --image-runtime=false (services without the ENV and node flags of their Dockerfile's runtime stage, which
//   are otherwise applied: see lib/image-runtime.mjs)  --out=DIR (bench-results)
//   --node-options="…" (appended to NODE_OPTIONS)  --node-args="…" (node/V8 flags before the script)
// Backends: BENCH_DATABASE_URL (else TEST_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres),
//           BENCH_REDIS_URL (else TEST_REDIS_URL, else redis://127.0.0.1:6379).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import Redis from 'ioredis';
import { measure } from './lib/load.mjs';
import { measureFlows } from './lib/flow-driver.mjs';
import { CLIENT_ID, clientContext, codeRedemptionBody, issueCodes, loginAndConsent, redeem } from './lib/oauth.mjs';
import { form } from './lib/http.mjs';
import { imageRuntime } from './lib/image-runtime.mjs';
import { freePort, root, runBundle, startProcess } from './lib/processes.mjs';
import { summarizeProfile, formatSummary } from './profile-summary.mjs';

// ---------------------------------------------------------------------------------------------- options
const flags = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    return [m[1], m[2] ?? 'true'];
  }),
);
const opt = (name, fallback) =>
  flags[name] ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? fallback;
const num = (name, fallback) => {
  const v = Number(opt(name, fallback));
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a non-negative number`);
  return v;
};
const options = {
  duration: num('duration', 10),
  warmup: num('warmup', 2),
  connections: num('connections', 16),
  flowWorkers: num('flow-workers', 16),
  repeat: Math.max(1, num('repeat', 1)),
  startupRepeat: num('startup-repeat', 3),
  profile: opt('profile', 'false') === 'true',
  // As the images run the services (their Dockerfile's runtime ENV and CMD flags); false to measure without.
  imageRuntime: opt('image-runtime', 'true') !== 'false',
  out: resolve(root, opt('out', 'bench-results')),
};
process.env.BENCH_NODE_OPTIONS = opt('node-options', ''); // likewise
process.env.BENCH_NODE_ARGS = opt('node-args', ''); // likewise
const ALL = [
  'baseline',
  'token-code',
  'limit-token-code',
  'token-refresh',
  'token-client-credentials',
  'resource-read',
  'limit-resource-read',
  'flow',
  'startup',
];
/** Quartet's scenario → the limit program's scenario doing the same work (bench/limit-server.mjs). */
const LIMIT_OF = { 'token-code': 'limit-token-code', 'resource-read': 'limit-resource-read' };
const only = opt('only', options.profile ? 'token-code,resource-read' : ALL.join(','))
  .split(',')
  .map((s) => s.trim());
for (const s of only) if (!ALL.includes(s)) throw new Error(`unknown scenario ${s} (known: ${ALL.join(', ')})`);
const wanted = (s) => only.includes(s);

const adminUrl = new URL(
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
);
adminUrl.pathname = '/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The performance targets for the 2-core machine (load generator on the same machine). */
export const TARGETS = {
  'token-code': { rps: 1500, p99: 50 },
  'token-client-credentials': { rps: 2000 },
  'resource-read': { rps: 2500, p99: 50 },
  flow: { rps: 300 },
};
const MAX_RSS_MB = 200;

// ------------------------------------------------------------------------------------------ environment
const runId = randomBytes(4).toString('hex');
const stamp = new Date()
  .toISOString()
  .replace(/[:.]/g, '-')
  .replace(/-\d{3}Z$/, 'Z');
const dbNames = { auth: `quartet_bench_auth_${runId}`, resource: `quartet_bench_resource_${runId}` };
const dbUrl = (name) => Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
const redisPrefix = `quartet:bench:${runId}:`;
const clientSecret = `bench-client-secret-${runId}`;
const running = [];
const log = (...a) => console.error('[bench]', ...a);

function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    nproc: os.availableParallelism?.() ?? cpus.length,
    memoryGB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function checkBackends() {
  const c = new pg.Client({ connectionString: adminUrl.toString(), connectionTimeoutMillis: 3000 });
  let pgVersion;
  try {
    await c.connect();
    const { rows } = await c.query('SHOW server_version');
    pgVersion = rows[0].server_version;
  } catch (err) {
    throw new Error(
      `PostgreSQL at ${adminUrl.host} is not reachable (${err.message}); the benchmark needs a real server`,
      { cause: err },
    );
  } finally {
    await c.end().catch(() => {});
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    return { postgres: pgVersion, redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown' };
  } catch (err) {
    throw new Error(`Redis at ${redisUrl} is not reachable (${err.message}); the benchmark needs a real server`, {
      cause: err,
    });
  } finally {
    redis.disconnect();
  }
}

async function cleanup() {
  await Promise.allSettled(running.splice(0).map((p) => p.stop()));
  const c = new pg.Client({ connectionString: adminUrl.toString() });
  try {
    await c.connect();
    for (const name of Object.values(dbNames)) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } catch (err) {
    log(`could not drop the bench databases: ${err.message}`);
  } finally {
    await c.end().catch(() => {});
  }
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch (err) {
    log(`could not remove the bench Redis keys: ${err.message}`);
  } finally {
    redis.disconnect();
  }
}

/**
 * What the backends did per completed request during a measured phase: PostgreSQL transactions and rows
 * written per bench database (pg_stat_database; a statement outside BEGIN counts as one transaction) and
 * Redis commands (INFO stats; server-wide, so other clients of the same Redis inflate it). PostgreSQL 15
 * backends publish their counters about once a second while busy (and only after 10 s when idle), so the
 * snapshots are taken straight after the warm-up and straight after the run: the unpublished tails of the
 * two roughly cancel, and the PostgreSQL figures are approximate (±10 % on a 10 s run); Redis's are exact.
 */
async function backendCounters() {
  const pgc = new pg.Client({ connectionString: adminUrl.toString() });
  await pgc.connect();
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const snapshot = async () => {
    const { rows } = await pgc.query(
      'SELECT datname, xact_commit + xact_rollback AS xacts, tup_inserted + tup_updated + tup_deleted AS written FROM pg_stat_database WHERE datname = ANY($1)',
      [Object.values(dbNames)],
    );
    const info = await redis.info('stats');
    return {
      pg: Object.fromEntries(rows.map((r) => [r.datname, { xacts: Number(r.xacts), written: Number(r.written) }])),
      redis: Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN),
    };
  };
  const per = (a, b, n) => (n ? Math.round(((b - a) / n) * 100) / 100 : null);
  return {
    before: snapshot,
    async after(before, requests) {
      const now = await snapshot();
      const db = (label, name) => ({
        [`pgTransactions_${label}`]: per(before.pg[name]?.xacts, now.pg[name]?.xacts, requests),
        [`pgRowsWritten_${label}`]: per(before.pg[name]?.written, now.pg[name]?.written, requests),
      });
      return {
        ...db('auth', dbNames.auth),
        ...db('resource', dbNames.resource),
        redisCommands: per(before.redis, now.redis, requests),
      };
    },
    async close() {
      await pgc.end().catch(() => {});
      redis.disconnect();
    },
  };
}

// ----------------------------------------------------------------------------------------------- helpers
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, d = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

/**
 * autocannon shares its request objects between connections (the first request of every connection is built
 * from one object), so per-request bodies would collide: each connection gets its own copy in setupClient.
 */
function perConnection(template, { setupRequest, onResponse }) {
  return {
    ...template,
    requests: [{ method: template.method, path: template.path ?? '/' }],
    setupClient(client) {
      client.requestIterator.setRequests([
        { method: template.method, path: template.path ?? '/', headers: template.headers, setupRequest, onResponse },
      ]);
    },
  };
}

// -------------------------------------------------------------------------------------------- scenarios
function serviceEnvironments(ports) {
  const asUrl = `http://127.0.0.1:${ports.as}`;
  const rsUrl = `http://127.0.0.1:${ports.rs}`;
  const env = {
    as: {
      PORT: String(ports.as),
      ISSUER: asUrl,
      RESOURCE_AUDIENCE: rsUrl,
      DATABASE_URL: dbUrl(dbNames.auth),
      REDIS_URL: redisUrl,
      REDIS_PREFIX: `${redisPrefix}as:`,
      DEMO_CLIENT_SECRET: clientSecret,
      DEMO_CLIENT_REDIRECT_URI: `http://127.0.0.1:${ports.client}/callback`,
      // Codes for a whole run are issued before it starts (the default 60 s could lapse meanwhile).
      AUTHORIZATION_CODE_TTL: '600',
      // Every request comes from one loopback address: the per-address limit stays on (its cost is measured)
      // but far above what the load sends.
      RATE_LIMIT_AUTHORIZE: '100000000',
    },
    rs: {
      PORT: String(ports.rs),
      RESOURCE_ID: rsUrl,
      AUTHORIZATION_SERVER: asUrl,
      DATABASE_URL: dbUrl(dbNames.resource),
    },
    // The limit program redeems the codes the AS issues (same Redis prefix) and verifies the AS's tokens.
    limit: {
      PORT: String(ports.limit),
      ISSUER: asUrl,
      AUDIENCE: rsUrl,
      CLIENT_ID: CLIENT_ID,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: `${redisPrefix}as:`,
      AUTH_DATABASE_URL: dbUrl(dbNames.auth),
      RESOURCE_DATABASE_URL: dbUrl(dbNames.resource),
    },
    client: {
      PORT: String(ports.client),
      PUBLIC_URL: `http://127.0.0.1:${ports.client}`,
      AUTHORIZATION_SERVER: asUrl,
      RESOURCE_SERVER: rsUrl,
      CLIENT_SECRET: clientSecret,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: `${redisPrefix}client:`,
      RATE_LIMIT_CONNECT: '100000000',
    },
  };
  return { env, asUrl, rsUrl };
}

const SERVICES = ['authorization-server', 'resource-server', 'client-app'];
// --image-runtime=false: plain `node <bundle>`, to measure what the images' settings buy.
const runtimes = Object.fromEntries(
  SERVICES.map((s) => [s, options.imageRuntime ? imageRuntime(s) : { env: {}, nodeArgs: [] }]),
);

/** A service's bundle, run as its image runs it (unless --image-runtime=false). */
const startService = (service, env, extra = {}) =>
  startProcess(service, `services/${service}/dist/server.mjs`, env, { ...extra, runtime: runtimes[service] });

/** What the services ran with, for the report. */
function serviceRuntimes() {
  return Object.fromEntries(
    SERVICES.map((s) => [
      s,
      {
        ...runtimes[s].env,
        NODE_OPTIONS: [runtimes[s].env.NODE_OPTIONS, process.env.BENCH_NODE_OPTIONS].filter(Boolean).join(' '),
        nodeArgs: [...runtimes[s].nodeArgs, ...(process.env.BENCH_NODE_ARGS ? [process.env.BENCH_NODE_ARGS] : [])].join(
          ' ',
        ),
      },
    ]),
  );
}

async function startupScenario(env) {
  const rows = { 'authorization-server': [], 'resource-server': [], 'client-app': [] };
  for (let i = 0; i < options.startupRepeat; i++) {
    // In dependency order, as a deployment would: the RS and the client app discover the AS.
    const as = await startService('authorization-server', env.as);
    running.push(as);
    const rs = await startService('resource-server', env.rs);
    running.push(rs);
    const client = await startService('client-app', env.client);
    running.push(client);
    await new Promise((r) => setTimeout(r, 2000)); // idle: let start-up garbage settle
    for (const p of [as, rs, client])
      rows[p.name].push({ startupMs: p.startupMs, idleRssMB: p.memory().rssMB, breakdown: await p.memoryBreakdown() });
    for (const p of [client, rs, as]) {
      await p.stop();
      running.splice(running.indexOf(p), 1);
    }
  }
  return Object.fromEntries(
    Object.entries(rows).map(([name, rs]) => [
      name,
      {
        startupMs: round(median(rs.map((r) => r.startupMs)), 0),
        idleRssMB: round(median(rs.map((r) => r.idleRssMB))),
        idleMemory: rs.at(-1)?.breakdown,
        runs: rs.map((r) => ({ startupMs: round(r.startupMs, 0), idleRssMB: round(r.idleRssMB) })),
      },
    ]),
  );
}

/** One repetition of the load scenarios; returns { scenario: result }. */
async function loadScenarios({ baseline, limit, as, rs, ctx, sessionCookie, windows, around }) {
  const results = {};
  const { connections, duration, warmup } = options;
  const common = { connections, duration, warmup, around };
  const track = async (name, fn) => {
    log(`${name} ...`);
    const r = await fn();
    // The measured phase only (no warm-up, no code issuance): what the profile summary looks at.
    windows.push({ scenario: name, ...r.window });
    results[name] = r;
    log(
      `${name}: ${round(r.rps, 0)} req/s, p50 ${round(r.latencyMs.p50)} ms, p99 ${round(r.latencyMs.p99)} ms, errors ${r.errors}${r.note ? ` (${r.note})` : ''}${r.backendCalls ? ` per request: ${JSON.stringify(r.backendCalls)}` : ''}`,
    );
  };

  if (baseline && wanted('baseline')) {
    await track('baseline', () =>
      measure({
        ...common,
        around: undefined,
        pids: [baseline.pid],
        makeTarget: () => ({ url: `${baseline.url}/baseline` }),
      }),
    );
  }

  // Codes issued through the real GET /authorize, each redeemed once at `url` (Quartet's token endpoint, or
  // the limit program's, which reads the same code store).
  const codeRedemption = (url, pid) => {
    const warm = { used: 0 };
    return measure({
      ...common,
      pids: [pid],
      async makeTarget(phase) {
        // Enough codes for the phase at twice the rate seen in the warm-up (and at least 2500/s); if they run out
        // anyway the run stops early and the rate is taken over the time it ran.
        const warmRate = warmup > 0 ? warm.used / warmup : 0;
        const perSecond = phase === 'warmup' ? 2500 : Math.max(2500, Math.ceil(warmRate * 2));
        const want = Math.ceil((phase === 'warmup' ? warmup : duration) * perSecond) + connections * 2;
        const t0 = performance.now();
        const codes = await issueCodes(ctx, sessionCookie, want, 32);
        log(
          `  ${phase}: ${codes.length} codes issued through /authorize in ${round((performance.now() - t0) / 1000)} s`,
        );
        let used = 0;
        let instance;
        let exhaustedAt = null;
        let placeholders = 0;
        const started = performance.now();
        const target = perConnection(
          {
            url,
            method: 'POST',
            path: '/oauth/token',
            headers: { authorization: ctx.authorization, 'content-type': 'application/x-www-form-urlencoded' },
          },
          {
            setupRequest(req, context) {
              const issued = codes[used++];
              if (phase === 'warmup') warm.used = used;
              if (codes.length - used < connections && exhaustedAt === null) {
                exhaustedAt = (performance.now() - started) / 1000;
                instance?.stop();
              }
              // Built only while the run winds down after stop(): answered invalid_grant if it is sent at all,
              // and then not counted. One request in flight per connection, so the connection's context says
              // whether the response that comes back is a placeholder's.
              context.placeholder = !issued;
              return {
                ...req,
                body: codeRedemptionBody(ctx, issued ?? { code: 'exhausted', verifier: 'x'.repeat(43) }),
              };
            },
            onResponse(_status, _body, context) {
              if (context.placeholder) placeholders++;
            },
          },
        );
        return {
          ...target,
          bind(i) {
            instance = i;
          },
          excluded: () => placeholders,
          note: () =>
            exhaustedAt !== null
              ? `stopped after ${round(exhaustedAt)} s: the ${codes.length} pre-issued codes were used up`
              : undefined,
        };
      },
    });
  };
  if (wanted('token-code')) await track('token-code', () => codeRedemption(`${as.url}/oauth/token`, as.pid));
  if (limit && wanted('limit-token-code'))
    await track('limit-token-code', () => codeRedemption(`${limit.url}/oauth/token`, limit.pid));

  if (wanted('token-refresh')) {
    await track('token-refresh', async () => {
      let badBodies = 0;
      return measure({
        ...common,
        pids: [as.pid],
        async makeTarget() {
          // One rotating chain per connection: every response's refresh token goes back into the pool and
          // is the one sent next (autocannon records a response before it builds the next request).
          const codes = await issueCodes(ctx, sessionCookie, connections * 2, 16);
          const pool = (await Promise.all(codes.map((c) => redeem(ctx, c)))).map((t) => t.refresh_token);
          let instance;
          let starved = 0;
          const target = perConnection(
            {
              url: `${as.url}/oauth/token`,
              method: 'POST',
              path: '/oauth/token',
              headers: { authorization: ctx.authorization, 'content-type': 'application/x-www-form-urlencoded' },
            },
            {
              setupRequest(req) {
                const token = pool.shift();
                if (!token) {
                  starved++;
                  instance?.stop();
                }
                return { ...req, body: form({ grant_type: 'refresh_token', refresh_token: token ?? 'starved' }) };
              },
              onResponse(status, body) {
                if (status !== 200) return;
                try {
                  const next = JSON.parse(body).refresh_token;
                  if (next) pool.push(next);
                  else badBodies++;
                } catch {
                  badBodies++;
                }
              },
            },
          );
          return {
            ...target,
            bind(i) {
              instance = i;
            },
            extraErrors: () => badBodies,
            note: () => (starved ? `${starved} requests found no refresh token` : undefined),
          };
        },
      });
    });
  }

  if (wanted('token-client-credentials')) {
    await track('token-client-credentials', () =>
      measure({
        ...common,
        pids: [as.pid],
        makeTarget: () => ({
          url: `${as.url}/oauth/token`,
          method: 'POST',
          headers: { authorization: ctx.authorization, 'content-type': 'application/x-www-form-urlencoded' },
          body: form({ grant_type: 'client_credentials', scope: 'photos:read' }),
        }),
      }),
    );
  }

  // A fresh token per phase (ACCESS_TOKEN_TTL is 300 s by default), issued by Quartet's authorization server.
  const photoRead = (baseUrl, pid) =>
    measure({
      ...common,
      pids: [pid],
      async makeTarget() {
        const [issued] = await issueCodes(ctx, sessionCookie, 1, 1);
        const token = await redeem(ctx, issued);
        return {
          url: `${baseUrl}/photos/5eed0001-0000-4000-8000-000000000001`,
          headers: { authorization: `Bearer ${token.access_token}` },
        };
      },
    });
  if (wanted('resource-read')) await track('resource-read', () => photoRead(rs.url, rs.pid));
  if (limit && wanted('limit-resource-read')) await track('limit-resource-read', () => photoRead(limit.url, limit.pid));

  if (wanted('flow')) {
    await track('flow', () =>
      measureFlows({
        ctx,
        sessionCookie,
        photoUrl: `${rs.url}/photos/5eed0001-0000-4000-8000-000000000001`,
        workers: options.flowWorkers,
        duration,
        warmup,
        pids: [as.pid, rs.pid],
        around,
      }),
    );
  }
  return results;
}

// ------------------------------------------------------------------------------------------------ report
function verdicts(summary) {
  const lines = [];
  for (const [name, t] of Object.entries(TARGETS)) {
    const r = summary.scenarios[name];
    if (!r) continue;
    const checks = [`${round(r.rps, 0)} req/s ${r.rps >= t.rps ? '≥' : '<'} ${t.rps}`];
    let ok = r.rps >= t.rps;
    if (t.p99 !== undefined) {
      checks.push(`p99 ${r.latencyMs.p99} ms ${r.latencyMs.p99 < t.p99 ? '<' : '≥'} ${t.p99}`);
      ok &&= r.latencyMs.p99 < t.p99;
    }
    lines.push({ scenario: name, ok: ok && r.errors === 0, detail: `${checks.join(', ')}, errors ${r.errors}` });
  }
  for (const [name, mb] of Object.entries(summary.peakRssMB)) {
    if (!SERVICES.includes(name)) continue; // the yardsticks are not under test
    lines.push({
      scenario: `peak RSS ${name}`,
      ok: mb < MAX_RSS_MB,
      detail: `${round(mb)} MB ${mb < MAX_RSS_MB ? '<' : '≥'} ${MAX_RSS_MB} MB`,
    });
  }
  return lines;
}

function table(summary) {
  const head = [
    'scenario',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'peak RSS MB',
    'CPU µs/request',
    '× baseline',
    '× limit',
  ];
  const rows = Object.entries(summary.scenarios).map(([name, r]) => [
    name + (name === 'flow' ? ' (flows/s)' : ''),
    round(r.rps, 0),
    round(r.latencyMs.p50, 1),
    round(r.latencyMs.p99, 1),
    r.errors,
    Object.values(r.peakRssMB)
      .map((v) => round(v, 0))
      .join(' / '),
    Object.values(r.cpuUsPerRequest ?? {}).join(' / '),
    r.ratio === undefined ? '' : round(r.ratio, 3),
    r.ofLimit === undefined ? '' : round(r.ofLimit, 2),
  ]);
  const md = [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  const calls = Object.entries(summary.scenarios).filter(([, r]) => r.backendCallsPerRequest);
  if (calls.length) {
    md.push(
      '',
      '| per completed request | PostgreSQL transactions (auth / resource) | rows written (auth / resource) | Redis commands |',
      '|---|---|---|---|',
    );
    for (const [name, r] of calls) {
      const c = r.backendCallsPerRequest;
      md.push(
        `| ${name} | ${c.pgTransactions_auth} / ${c.pgTransactions_resource} | ${c.pgRowsWritten_auth} / ${c.pgRowsWritten_resource} | ${c.redisCommands} |`,
      );
    }
  }
  if (summary.startup) {
    md.push('', '| service | start-up ms (spawn → /readyz 200) | RSS at idle MB |', '|---|---|---|');
    for (const [name, s] of Object.entries(summary.startup)) md.push(`| ${name} | ${s.startupMs} | ${s.idleRssMB} |`);
  }
  const mem = [
    ...Object.entries(summary.startup ?? {}).map(([name, s]) => [`${name}, idle`, s.idleMemory]),
    ...Object.entries(summary.memoryAfterLoad ?? {}).map(([name, m]) => [`${name}, after the load`, m]),
  ].filter(([, m]) => m);
  if (mem.length) {
    md.push(
      '',
      '| where the memory is (MB) | RSS | V8 heap total / used | external | of which ArrayBuffers | code space |',
      '|---|---|---|---|---|---|',
    );
    for (const [label, m] of mem) {
      md.push(
        `| ${label} | ${m.usageMB.rss} | ${m.usageMB.heapTotal} / ${m.usageMB.heapUsed} | ${m.usageMB.external} | ${m.usageMB.arrayBuffers} | ${m.heapSpacesUsedMB.code_space ?? ''} |`,
      );
    }
  }
  return md.join('\n');
}

// -------------------------------------------------------------------------------------------------- main
async function main() {
  for (const s of ['authorization-server', 'resource-server', 'client-app']) {
    if (!existsSync(join(root, 'services', s, 'dist', 'server.mjs')))
      throw new Error(`services/${s}/dist/server.mjs is missing: run npm run build (npm run bench does)`);
  }
  const backends = await checkBackends();
  mkdirSync(options.out, { recursive: true });
  log(
    `run ${runId}: ${JSON.stringify(options)}; scenarios ${only.join(', ')}; PostgreSQL ${backends.postgres}, Redis ${backends.redis}`,
  );

  const ports = {
    as: await freePort(),
    rs: await freePort(),
    client: await freePort(),
    baseline: await freePort(),
    limit: await freePort(),
  };
  const { env, asUrl } = serviceEnvironments(ports);
  for (const [service, e] of [
    ['authorization-server', env.as],
    ['resource-server', env.rs],
  ]) {
    log(`${service}: ${runBundle(service, 'migrate', e)}`);
    log(`${service}: ${runBundle(service, 'seed', e)}`);
  }

  const summary = {
    serviceRuntime: serviceRuntimes(),
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: machine(),
    backends,
    options: { ...options, out: undefined },
    scenarios: {},
    repetitions: [],
    peakRssMB: {},
  };

  if (wanted('startup') && !options.profile) {
    log('startup ...');
    summary.startup = await startupScenario(env);
    log(`startup: ${JSON.stringify(summary.startup)}`);
  }

  const loadWanted = only.some((s) => s !== 'startup');
  if (loadWanted) {
    const profileDir = join(options.out, `profiles-${stamp}`);
    const nodeArgs = (service) =>
      options.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, service)}`] : [];
    const baseline = wanted('baseline')
      ? await startProcess('baseline', 'bench/baseline-server.mjs', { PORT: String(ports.baseline) })
      : null;
    if (baseline) running.push(baseline);
    const as = await startService('authorization-server', env.as, { nodeArgs: nodeArgs('authorization-server') });
    running.push(as);
    const rs = await startService('resource-server', env.rs, { nodeArgs: nodeArgs('resource-server') });
    running.push(rs);
    const limit = Object.values(LIMIT_OF).some(wanted)
      ? await startProcess('limit', 'bench/limit-server.mjs', env.limit, { nodeArgs: nodeArgs('limit') })
      : null;
    if (limit) running.push(limit);
    const ctx = clientContext({ asUrl, redirectUri: `http://127.0.0.1:${ports.client}/callback`, clientSecret });
    const jar = await loginAndConsent(ctx);
    const sessionCookie = `quartet_as_session=${jar.jar.get('quartet_as_session')}`;
    const windows = [];
    const around = await backendCounters();
    try {
      for (let i = 0; i < options.repeat; i++) {
        log(`repetition ${i + 1}/${options.repeat}`);
        summary.repetitions.push(await loadScenarios({ baseline, limit, as, rs, ctx, sessionCookie, windows, around }));
      }
    } finally {
      await around.close();
    }
    summary.memoryAfterLoad = {};
    for (const p of [as, rs, baseline, limit].filter(Boolean)) {
      summary.peakRssMB[p.name] = p.memory().hwmMB;
      summary.memoryAfterLoad[p.name] = await p.memoryBreakdown();
    }

    // Medians over the repetitions; the ratio is taken within each repetition, then its median.
    const nameOf = (pid) => [as, rs, baseline, limit].find((p) => p && String(p.pid) === pid)?.name ?? pid;
    for (const name of Object.keys(summary.repetitions[0])) {
      const reps = summary.repetitions.map((r) => r[name]);
      const ratioTo = (other) =>
        summary.repetitions[0][other] && name !== other
          ? median(summary.repetitions.map((r) => r[name].rps / r[other].rps))
          : undefined;
      const ratio = ratioTo('baseline');
      const ofLimit = LIMIT_OF[name] ? ratioTo(LIMIT_OF[name]) : undefined;
      summary.scenarios[name] = {
        rps: median(reps.map((r) => r.rps)),
        latencyMs: { p50: median(reps.map((r) => r.latencyMs.p50)), p99: median(reps.map((r) => r.latencyMs.p99)) },
        errors: reps.reduce((a, r) => a + r.errors, 0),
        peakRssMB: Object.fromEntries(
          Object.keys(reps[0].peakRssMB).map((pid) => [nameOf(pid), Math.max(...reps.map((r) => r.peakRssMB[pid]))]),
        ),
        cpuUsPerRequest: Object.fromEntries(
          Object.keys(reps[0].cpuUsPerRequest ?? {}).map((pid) => [
            nameOf(pid),
            median(reps.map((r) => r.cpuUsPerRequest[pid])),
          ]),
        ),
        ratio,
        ofLimit,
        backendCallsPerRequest: reps.at(-1).backendCalls,
        notes: reps.map((r) => r.note).filter(Boolean),
      };
    }

    for (const p of [as, rs, baseline, limit].filter(Boolean)) {
      await p.stop();
      running.splice(running.indexOf(p), 1);
    }
    if (options.profile) {
      summary.profiles = {};
      // The limit program's profile covers whichever of its scenarios ran.
      const PROFILED = {
        'authorization-server': ['token-code'],
        'resource-server': ['resource-read'],
        limit: Object.values(LIMIT_OF),
      };
      for (const [service, scenarios] of Object.entries(PROFILED)) {
        const dir = join(profileDir, service);
        const file = existsSync(dir) && readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
        if (!file) continue;
        const scenario = scenarios.join(', ');
        const w = windows.filter((x) => scenarios.includes(x.scenario));
        const window = w.length
          ? { fromUs: Math.min(...w.map((x) => x.fromUs)), toUs: Math.max(...w.map((x) => x.toUs)) }
          : undefined;
        const s = summarizeProfile(join(dir, file), { window });
        summary.profiles[service] = { file: join(dir, file), scenario, ...s };
        console.log(`\n### ${service} under ${scenario} (${join(dir, file)})\n${formatSummary(s, 25)}`);
      }
    }
  }

  const text = table(summary);
  const checks = verdicts(summary);
  summary.verdicts = checks;
  const file = join(options.out, `${stamp}${options.profile ? '-profile' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(
    `\nQuartet benchmark — ${summary.date} — ${summary.machine.nproc} CPUs (${summary.machine.cpuModel}), ${summary.machine.memoryGB} GB, node ${summary.machine.node}`,
  );
  console.log(
    `${options.connections} connections, ${options.warmup} s warm-up + ${options.duration} s per scenario, ${options.repeat} repetition(s)${options.profile ? ', PROFILED (--cpu-prof: slower than normal)' : ''}\n`,
  );
  console.log(text);
  if (checks.length) {
    console.log('\nTargets:');
    for (const c of checks) console.log(`  ${c.ok ? 'PASS' : 'MISS'}  ${c.scenario}: ${c.detail}`);
  }
  const vsLimit = Object.entries(LIMIT_OF).filter(
    ([name, l]) => summary.scenarios[name]?.ofLimit !== undefined && summary.scenarios[l],
  );
  if (vsLimit.length) {
    console.log('\nAgainst the limit program in the same run (the targets were set on a machine whose limits were');
    console.log('3,000–4,000 code redemptions/s and 4,000–5,000 reads/s: 0.38–0.50 and 0.50–0.63 of the limit):');
    for (const [name, l] of vsLimit) {
      const t = TARGETS[name].rps;
      console.log(
        `  ${name}: ${round(summary.scenarios[name].rps, 0)} req/s = ${round(summary.scenarios[name].ofLimit, 2)} of ${round(summary.scenarios[l].rps, 0)} req/s (the target ${t} is ${round(t / summary.scenarios[l].rps, 2)} of it today)`,
      );
    }
  }
  console.log(`\nJSON: ${file}`);
}

process.on('SIGINT', () => {
  log('interrupted: cleaning up');
  cleanup().finally(() => process.exit(130));
});

try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err.stack ?? err.message}`);
  for (const p of running) console.error(`--- ${p.name} output ---\n${p.output()}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
