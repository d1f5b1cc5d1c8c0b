#!/usr/bin/env node
// `npm run bench`: Quartet's hot paths under load, on loopback, against real PostgreSQL and Redis.
//
// The services run as production runs them (the bundles of `npm run build`, plain node, LOG_LEVEL=warn) on
// fresh databases (quartet_bench_auth_<id>, quartet_bench_resource_<id>, migrated and seeded with the bundled
// CLIs) and a unique Redis prefix; everything is removed at the end. Every load is bounded in time. They are
// wired to each other by scripts/lib/topology.mjs, as under `npm start`.
//
// This file is the orchestrator: options, backends, processes, the chosen scenarios in order, the medians,
// the verdicts and the output. Each scenario is a file of bench/scenarios/ (listed in its index.mjs):
//   baseline                  a bare Fastify route (same Fastify) in its own process: the machine's yardstick
//   token-code                POST /oauth/token, authorization_code: codes issued through the real GET /authorize
//                             for a logged-in user, each redeemed once with Basic client auth + its PKCE verifier
//   limit-token-code          the same against bench/limit-server.mjs, the minimal Fastify + ioredis + pg + jose
//                             program that stands for the machine's limit ("× limit")
//   token-refresh             POST /oauth/token, refresh_token with rotation (each response's token used next)
//   token-client-credentials  POST /oauth/token, client_credentials
//   token-code-dpop           token-code with a DPoP proof per redemption (RFC 9449 §5): "× bearer" against it
//   resource-read             GET /photos/:id at the resource server with a valid token
//   resource-read-dpop        the same with a DPoP-bound token and a fresh proof per read (RFC 9449 §7.1)
//   limit-resource-read       the same against the limit program
//   flow                      authorize → code → token → one API call, completed flows per second
//   startup                   spawn → first 200 from /readyz per service, and RSS at idle
// Verdicts (docs/benchmarks.md, "Targets"): token-code and resource-read at least 0.85 × the limit program in
// the same run and p99 < 50 ms; client_credentials ≥ 2000 req/s; flow ≥ 300 flows/s; zero errors; peak RSS of
// each service < 200 MB.
//
// Options (bench/lib/options.mjs, node:util parseArgs): `--name=value` or `--name value`; each also read from
// BENCH_<NAME> (upper case, - as _; empty = unset) when the flag is not given. Anything else is an error.
//   --duration=S (10)         measured seconds per load scenario
//   --warmup=S (2)            discarded warm-up seconds before each
//   --connections=N (16)      autocannon connections
//   --flow-workers=N (16)     concurrent flows in the flow scenario
//   --repeat=N (1)            repetitions of the load scenarios (medians reported)
//   --startup-repeat=N (3)    start-ups in the startup scenario
//   --only=a,b (all; token-code,resource-read with --profile)
//   --profile                 AS, RS and, for limit-* scenarios, the limit program under --cpu-prof (see
//                             bench/profile-summary.mjs); BENCH_PROFILE=true
//   --image-runtime=false     services without the ENV and node flags of their Dockerfile's runtime stage, which
//                             are otherwise applied (see lib/image-runtime.mjs); true/false/1/0
//   --out=DIR (bench-results) where the JSON goes, relative to the repository root
//   --node-options="…"        appended to the services' NODE_OPTIONS
//   --node-args="…"           node/V8 flags before the script
// Backends: BENCH_DATABASE_URL (else TEST_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres),
//           BENCH_REDIS_URL (else TEST_REDIS_URL, else redis://127.0.0.1:6379).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { DEMO_CLIENT_ID, topology } from '../scripts/lib/topology.mjs';
import { benchBackends } from './lib/backends.mjs';
import { clientContext, loginAndConsent } from './lib/oauth.mjs';
import { imageRuntime } from './lib/image-runtime.mjs';
import { readOptions } from './lib/options.mjs';
import { round } from './lib/numbers.mjs';
import { freePort, root, runBundle, startProcess } from './lib/processes.mjs';
import { aggregate, print, verdicts } from './lib/report.mjs';
import { SCENARIOS, scenario } from './scenarios/index.mjs';
import { summarizeProfile, formatSummary } from './profile-summary.mjs';

// ---------------------------------------------------------------------------------------------- options
let read;
try {
  read = readOptions({
    args: process.argv.slice(2),
    scenarios: SCENARIOS,
    // --profile alone profiles Quartet's own hot paths (token-code, resource-read), not the yardsticks.
    profiled: SCENARIOS.filter((s) => s.profiles && !s.needs).map((s) => s.name),
    root,
  });
} catch (err) {
  console.error(err.message); // a usage error: the message says all, a stack trace would not help
  process.exit(2);
}
const { options, only, nodeOptions, nodeArgs } = read;
// lib/processes.mjs hands these to every process it starts.
process.env.BENCH_NODE_OPTIONS = nodeOptions;
process.env.BENCH_NODE_ARGS = nodeArgs;
const chosen = SCENARIOS.filter((s) => only.includes(s.name));
const needed = (name) => chosen.some((s) => s.needs?.includes(name));

// ------------------------------------------------------------------------------------------ environment
const runId = randomBytes(4).toString('hex');
const stamp = new Date()
  .toISOString()
  .replace(/[:.]/g, '-')
  .replace(/-\d{3}Z$/, 'Z');
const backends = benchBackends(runId);
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

async function cleanup() {
  await Promise.allSettled(running.splice(0).map((p) => p.stop()));
  await backends.remove(log);
}

/** Each process's environment: the topology's wiring plus the bench's backends and settings. */
function environments(ports) {
  const { dbUrl, dbNames, redisUrl, redisPrefix } = backends;
  const wiring = topology(
    { auth: ports.as, resource: ports.rs, client: ports.client },
    { host: '127.0.0.1', clientSecret },
  );
  const env = {
    'authorization-server': {
      ...wiring.env.auth,
      DATABASE_URL: dbUrl(dbNames.auth),
      REDIS_URL: redisUrl,
      REDIS_PREFIX: `${redisPrefix}as:`,
      // Codes for a whole run are issued before it starts (the default 60 s could lapse meanwhile).
      AUTHORIZATION_CODE_TTL: '600',
      // Every request comes from one loopback address: the per-address limit stays on (its cost is measured)
      // but far above what the load sends.
      RATE_LIMIT_AUTHORIZE: '100000000',
    },
    'resource-server': { ...wiring.env.resource, DATABASE_URL: dbUrl(dbNames.resource) },
    'client-app': {
      ...wiring.env.client,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: `${redisPrefix}client:`,
      RATE_LIMIT_CONNECT: '100000000',
    },
    // The limit program redeems the codes the AS issues (same Redis prefix) and verifies the AS's tokens.
    limit: {
      PORT: String(ports.limit),
      ISSUER: wiring.env.auth.ISSUER,
      AUDIENCE: wiring.env.auth.RESOURCE_AUDIENCE,
      CLIENT_ID: DEMO_CLIENT_ID,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: `${redisPrefix}as:`,
      AUTH_DATABASE_URL: dbUrl(dbNames.auth),
      RESOURCE_DATABASE_URL: dbUrl(dbNames.resource),
    },
    baseline: { PORT: String(ports.baseline) },
  };
  return { env, urls: wiring.urls, redirectUri: wiring.redirectUri };
}

const SERVICES = ['authorization-server', 'resource-server', 'client-app'];
// --image-runtime=false: plain `node <bundle>`, to measure what the images' settings buy.
const runtimes = Object.fromEntries(
  SERVICES.map((s) => [s, options.imageRuntime ? imageRuntime(s) : { env: {}, nodeArgs: [] }]),
);

/** What the services ran with, for the report. */
function serviceRuntimes() {
  return Object.fromEntries(
    SERVICES.map((s) => [
      s,
      {
        ...runtimes[s].env,
        NODE_OPTIONS: [runtimes[s].env.NODE_OPTIONS, nodeOptions].filter(Boolean).join(' '),
        nodeArgs: [...runtimes[s].nodeArgs, ...(nodeArgs ? [nodeArgs] : [])].join(' '),
      },
    ]),
  );
}

// ------------------------------------------------------------------------------------------- scenarios
/** One repetition of the chosen load scenarios; returns { scenario: result } and records measured windows. */
async function loadRepetition(ctx, windows) {
  const results = {};
  for (const s of chosen.filter((x) => !x.standalone)) {
    log(`${s.name} ...`);
    const r = await s.run(ctx);
    // The measured phase only (no warm-up, no code issuance): what the profile summary looks at.
    windows.push({ scenario: s.name, ...r.window });
    results[s.name] = r;
    log(
      `${s.name}: ${round(r.rps, 0)} req/s, p50 ${round(r.latencyMs.p50)} ms, p99 ${round(r.latencyMs.p99)} ms, errors ${r.errors}${r.note ? ` (${r.note})` : ''}${r.backendCalls ? ` per request: ${JSON.stringify(r.backendCalls)}` : ''}`,
    );
  }
  return results;
}

/** Under --profile: each profiled process's summary over the measured phases of the scenarios that name it. */
function summariseProfiles(profileDir, windows) {
  const profiles = {};
  for (const owner of ['authorization-server', 'resource-server', 'limit']) {
    const dir = join(profileDir, owner);
    const file = existsSync(dir) && readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) continue;
    // The limit program's profile covers whichever of its scenarios ran.
    const names = SCENARIOS.filter((s) => s.profiles?.includes(owner)).map((s) => s.name);
    const w = windows.filter((x) => names.includes(x.scenario));
    const window = w.length
      ? { fromUs: Math.min(...w.map((x) => x.fromUs)), toUs: Math.max(...w.map((x) => x.toUs)) }
      : undefined;
    const s = summarizeProfile(join(dir, file), { window });
    profiles[owner] = { file: join(dir, file), scenario: names.join(', '), ...s };
    console.log(`\n### ${owner} under ${names.join(', ')} (${join(dir, file)})\n${formatSummary(s, 25)}`);
  }
  return profiles;
}

// -------------------------------------------------------------------------------------------------- main
async function main() {
  for (const s of SERVICES) {
    if (!existsSync(join(root, 'services', s, 'dist', 'server.mjs')))
      throw new Error(`services/${s}/dist/server.mjs is missing: run npm run build (npm run bench does)`);
  }
  const versions = await backends.check();
  mkdirSync(options.out, { recursive: true });
  log(
    `run ${runId}: ${JSON.stringify(options)}; scenarios ${only.join(', ')}; PostgreSQL ${versions.postgres}, Redis ${versions.redis}`,
  );

  const ports = {
    as: await freePort(),
    rs: await freePort(),
    client: await freePort(),
    baseline: await freePort(),
    limit: await freePort(),
  };
  const { env, urls, redirectUri } = environments(ports);
  for (const service of ['authorization-server', 'resource-server']) {
    log(`${service}: ${runBundle(service, 'migrate', env[service])}`);
    log(`${service}: ${runBundle(service, 'seed', env[service])}`);
  }
  /** A service's bundle, run as its image runs it (unless --image-runtime=false). */
  const startService = (service, extra = {}) =>
    startProcess(service, `services/${service}/dist/server.mjs`, env[service], {
      ...extra,
      runtime: runtimes[service],
    });

  const summary = {
    serviceRuntime: serviceRuntimes(),
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: machine(),
    backends: versions,
    options: { ...options, out: undefined },
    scenarios: {},
    repetitions: [],
    peakRssMB: {},
  };

  const startup = chosen.find((s) => s.standalone);
  if (startup && !options.profile) {
    log(`${startup.name} ...`);
    summary.startup = await startup.run({ options, startService, running, log });
    log(`${startup.name}: ${JSON.stringify(summary.startup)}`);
  }

  if (chosen.some((s) => !s.standalone)) {
    const profileDir = join(options.out, `profiles-${stamp}`);
    const profiling = (name) => ({
      nodeArgs: options.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : [],
    });
    const baseline = needed('baseline')
      ? await startProcess('baseline', 'bench/baseline-server.mjs', env.baseline)
      : null;
    if (baseline) running.push(baseline);
    const as = await startService('authorization-server', profiling('authorization-server'));
    running.push(as);
    const rs = await startService('resource-server', profiling('resource-server'));
    running.push(rs);
    const limit = needed('limit')
      ? await startProcess('limit', 'bench/limit-server.mjs', env.limit, profiling('limit'))
      : null;
    if (limit) running.push(limit);
    const oauth = clientContext({ asUrl: urls.auth, redirectUri, clientSecret });
    const browser = await loginAndConsent(oauth);
    const windows = [];
    const around = await backends.counters();
    const { connections, duration, warmup } = options;
    const ctx = {
      options,
      load: { connections, duration, warmup, around },
      as,
      rs,
      baseline,
      limit,
      oauth,
      browser,
      log,
    };
    try {
      for (let i = 0; i < options.repeat; i++) {
        log(`repetition ${i + 1}/${options.repeat}`);
        summary.repetitions.push(await loadRepetition(ctx, windows));
      }
    } finally {
      await around.close();
    }
    const measured = [as, rs, baseline, limit].filter(Boolean);
    summary.memoryAfterLoad = {};
    for (const p of measured) {
      summary.peakRssMB[p.name] = p.memory().hwmMB;
      summary.memoryAfterLoad[p.name] = await p.memoryBreakdown();
    }
    summary.scenarios = aggregate(summary.repetitions, {
      nameOf: (pid) => measured.find((p) => String(p.pid) === pid)?.name ?? pid,
      limitOf: (name) => scenario(name)?.limit,
      bearerOf: (name) => scenario(name)?.bearer,
    });

    for (const p of measured) {
      await p.stop();
      running.splice(running.indexOf(p), 1);
    }
    if (options.profile) summary.profiles = summariseProfiles(profileDir, windows);
  }

  summary.verdicts = verdicts(summary, SCENARIOS, SERVICES);
  const file = join(options.out, `${stamp}${options.profile ? '-profile' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  print({ summary, scenarios: SCENARIOS, options, file });
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
