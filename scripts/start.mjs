#!/usr/bin/env node
// `npm start`: starts the three services as separate processes (each applies its pending migrations and seeds
// the demo data if missing: AUTO_MIGRATE, SEED_DEMO_DATA), waits until each answers /readyz, and prints where
// to go. Ctrl-C stops all three. Backends: DATABASE_URL / REDIS_URL unset means embedded PostgreSQL (PGlite,
// under data/) and the in-process store; set them to use real servers with no other change. The services'
// addresses in each other's settings come from scripts/lib/topology.mjs, shared with the benchmark.
// Plain Node (no TypeScript) so that it runs before anything is built.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_PORTS, topology } from './lib/topology.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// tsx as a loader in the service's own process (its CLI would start a second Node process per service).
const tsxLoader = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const colours = { auth: 35, resource: 36, client: 33 };

const services = [
  {
    key: 'auth',
    name: 'authorization server',
    dir: 'services/authorization-server',
    portVar: 'PORT',
    defaultPort: DEFAULT_PORTS.auth,
    envPortVar: 'AUTH_PORT',
    database: 'quartet_auth',
    dataDir: 'data/authorization-server',
    role: 'logs alice in, asks her consent, issues tokens',
  },
  {
    key: 'resource',
    name: 'resource server',
    dir: 'services/resource-server',
    portVar: 'PORT',
    defaultPort: DEFAULT_PORTS.resource,
    envPortVar: 'RESOURCE_PORT',
    database: 'quartet_resource',
    dataDir: 'data/resource-server',
    role: "keeps alice's photos and documents, checks every token",
  },
  {
    key: 'client',
    name: 'client app',
    dir: 'services/client-app',
    portVar: 'PORT',
    defaultPort: DEFAULT_PORTS.client,
    envPortVar: 'CLIENT_PORT',
    role: 'the third-party app that wants to show her photos',
  },
];

const children = new Set();
let stopping = false;

function prefix(key) {
  const label = key.padEnd(8);
  return process.stdout.isTTY ? `\x1b[${colours[key]}m${label}|\x1b[0m ` : `${label}| `;
}

/** Services log JSON lines; show them as "LEVEL message" so three interleaved streams stay readable. */
function formatLine(line) {
  try {
    const entry = JSON.parse(line);
    const level =
      { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }[entry.level] ?? entry.level;
    const extra = entry.req ? ` ${entry.req.method} ${entry.req.url}` : entry.res ? ` -> ${entry.res.statusCode}` : '';
    return `${level.toUpperCase().padEnd(5)} ${entry.msg ?? ''}${extra}`;
  } catch {
    return line;
  }
}

function pipe(stream, key) {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buffer += chunk;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (line.trim()) process.stdout.write(prefix(key) + formatLine(line) + '\n');
    }
  });
}

/**
 * The database of one service: AUTH_DATABASE_URL / RESOURCE_DATABASE_URL when given; else DATABASE_URL names
 * the server and each service gets its own database on it (quartet_auth, quartet_resource); else embedded.
 */
function databaseUrlFor(service) {
  const own = process.env[`${service.key.toUpperCase()}_DATABASE_URL`];
  if (own) return own;
  if (!process.env.DATABASE_URL) return undefined;
  const url = new URL(process.env.DATABASE_URL);
  url.pathname = `/${service.database}`;
  return url.toString();
}

/** A URL for the console, without its password. */
function redact(value) {
  const url = new URL(value);
  if (url.password) url.password = '***';
  return `at ${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

function portFree(port, host) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

async function waitReady(url, child, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not ready after ${timeoutMs / 1000} s (${url})`);
}

function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  const force = setTimeout(() => {
    for (const child of children) child.kill('SIGKILL');
  }, 5000);
  force.unref();
  const check = setInterval(() => {
    if (children.size === 0) {
      clearInterval(check);
      process.exit(code);
    }
  }, 50);
}

process.on('SIGINT', () => {
  console.log('\nStopping…');
  stopAll(0);
});
process.on('SIGTERM', () => stopAll(0));

async function main() {
  const started = Date.now();
  const host = process.env.HOST ?? '127.0.0.1';
  const ports = Object.fromEntries(services.map((s) => [s.key, Number(process.env[s.envPortVar] ?? s.defaultPort)]));

  for (const s of services) {
    if (!(await portFree(ports[s.key], host))) {
      console.error(
        `Port ${ports[s.key]} (${s.name}) is already in use. Stop whatever is using it, or choose another port with ${s.envPortVar}=<port> npm start.`,
      );
      process.exit(1);
    }
  }

  const baseEnv = { ...process.env, HOST: host };
  delete baseEnv.DATABASE_URL; // each service gets its own database, chosen below
  const prepare = { AUTO_MIGRATE: 'true', SEED_DEMO_DATA: 'true' };
  // Workshop mode (flow inspector, lab, trace endpoints) is on under npm start unless WORKSHOP_MODE=false;
  // production deployments leave it off. The client app signs the trace ids of its flows with
  // WORKSHOP_TRACE_SECRET and the servers trace only those: a fresh random one per start (unless given).
  // The wiring between the three is scripts/lib/topology.mjs (the benchmark's too); ISSUER, when set, is
  // what the authorization server names itself.
  const wiring = topology(ports, {
    issuer: process.env.ISSUER,
    workshopMode: process.env.WORKSHOP_MODE ?? 'true',
    traceSecret: process.env.WORKSHOP_TRACE_SECRET ?? randomBytes(32).toString('base64url'),
  });
  const { urls } = wiring;
  // 30 s access tokens make refreshes visible and let the lab's expired-token switch wait for a real expiry
  // (LAB_MAX_WAIT 40 s); http://localhost:9200 is a second API the lab asks a token for.
  const labResource = process.env.LAB_OTHER_RESOURCE ?? 'http://localhost:9200';
  const envFor = {
    auth: {
      ...baseEnv,
      ...prepare,
      ...wiring.env.auth,
      ACCESS_TOKEN_TTL: process.env.ACCESS_TOKEN_TTL ?? '30',
      RESOURCES: process.env.RESOURCES ?? labResource,
      // A workshop room shares the demo accounts and one address (and the lab's requests all come from the
      // client app): looser throttles than the defaults, so one attendee's typos do not lock alice for all.
      THROTTLE_LOGIN_ACCOUNT: process.env.THROTTLE_LOGIN_ACCOUNT ?? '50',
      RATE_LIMIT_AUTHORIZE: process.env.RATE_LIMIT_AUTHORIZE ?? '3000',
      // Apps (the workshop's, openid-client examples) may register themselves (RFC 7591), from one room's address.
      CLIENT_REGISTRATION: process.env.CLIENT_REGISTRATION ?? 'open',
      RATE_LIMIT_REGISTRATION: process.env.RATE_LIMIT_REGISTRATION ?? '200',
    },
    resource: { ...baseEnv, ...prepare, ...wiring.env.resource },
    client: {
      ...baseEnv,
      ...wiring.env.client,
      LAB_OTHER_RESOURCE: labResource,
      LAB_MAX_WAIT: process.env.LAB_MAX_WAIT ?? '40',
    },
  };
  const backends = {};
  for (const s of services.filter((x) => x.database)) {
    const url = databaseUrlFor(s);
    if (url) envFor[s.key].DATABASE_URL = url;
    backends[s.key] = url ? `PostgreSQL ${redact(url)}` : `embedded PostgreSQL (PGlite) in ${join(root, s.dataDir)}`;
  }
  const store = process.env.REDIS_URL ? `Redis ${redact(process.env.REDIS_URL)}` : 'in-process store (single instance)';
  backends.auth += ` + ${store}`;
  backends.client = store;

  console.log('Starting the three services…');
  const procs = services.map((s) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, 'src/server.ts'], {
      cwd: join(root, s.dir),
      env: envFor[s.key],
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    pipe(child.stdout, s.key);
    pipe(child.stderr, s.key);
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (!stopping) {
        console.error(`${s.name} stopped unexpectedly (${signal ?? `exit code ${code}`}); stopping the others.`);
        stopAll(1);
      }
    });
    return { s, child };
  });

  try {
    await Promise.all(
      procs.map(({ s, child }) =>
        waitReady(`${urls[s.key]}/readyz`, child).catch((err) => {
          throw new Error(`${s.name} ${err.message}`);
        }),
      ),
    );
  } catch (err) {
    console.error(`Could not start Quartet: ${err.message}`);
    stopAll(1);
    return;
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    [
      '',
      `Quartet is ready (${seconds} s). Open ${urls.client} and click "Connect my photos".`,
      `  Log in as alice / wonderland (or bob / builder).`,
      `  client app            ${urls.client}  — ${services[2].role}`,
      `  authorization server  ${urls.auth}  — ${services[0].role}`,
      `  resource server       ${urls.resource}  — ${services[1].role}`,
      `  you, at the browser   — the resource owner, who decides what the app may see`,
      ...(envFor.client.WORKSHOP_MODE === 'true'
        ? [
            `Workshop mode: "What just happened?" ${urls.client}/workshop/inspector, "Break it, fix it" ${urls.client}/workshop/lab`,
          ]
        : []),
      'Backends:',
      `  authorization server  ${backends.auth}`,
      `  resource server       ${backends.resource}`,
      `  client app            ${backends.client}`,
      'Press Ctrl-C to stop all three.',
      '',
    ].join('\n'),
  );
}

main().catch((err) => {
  console.error(`Could not start Quartet: ${err.message}`);
  stopAll(1);
});
