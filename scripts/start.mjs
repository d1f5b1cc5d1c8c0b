#!/usr/bin/env node
// `npm start`: prepares the databases (migrate + seed), starts the three services as separate processes,
// waits until each answers /readyz, and prints where to go. Ctrl-C stops all three.
// Plain Node (no TypeScript) so that it runs before anything is built.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const colours = { auth: 35, resource: 36, client: 33 };

const services = [
  {
    key: 'auth',
    name: 'authorization server',
    dir: 'services/authorization-server',
    portVar: 'PORT', defaultPort: 9000, envPortVar: 'AUTH_PORT',
    prepare: ['src/cli/migrate.ts', 'src/cli/seed.ts'],
    role: 'logs alice in, asks her consent, issues tokens',
  },
  {
    key: 'resource',
    name: 'resource server',
    dir: 'services/resource-server',
    portVar: 'PORT', defaultPort: 9100, envPortVar: 'RESOURCE_PORT',
    prepare: ['src/cli/migrate.ts', 'src/cli/seed.ts'],
    role: "keeps alice's photos and documents, checks every token",
  },
  {
    key: 'client',
    name: 'client app',
    dir: 'services/client-app',
    portVar: 'PORT', defaultPort: 3000, envPortVar: 'CLIENT_PORT',
    prepare: [],
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
    const level = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }[entry.level] ?? entry.level;
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

function run(service, script, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsx, script], { cwd: join(root, service.dir), env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    pipe(child.stdout, service.key);
    pipe(child.stderr, service.key);
    child.on('exit', (code) => {
      children.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`${service.name}: ${script} exited with code ${code}`));
    });
  });
}

function portFree(port, host) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

async function waitReady(url, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
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

process.on('SIGINT', () => { console.log('\nStopping…'); stopAll(0); });
process.on('SIGTERM', () => stopAll(0));

async function main() {
  const started = Date.now();
  const host = process.env.HOST ?? '127.0.0.1';
  const ports = Object.fromEntries(services.map((s) => [s.key, Number(process.env[s.envPortVar] ?? s.defaultPort)]));

  for (const s of services) {
    if (!(await portFree(ports[s.key], host))) {
      console.error(`Port ${ports[s.key]} (${s.name}) is already in use. Stop whatever is using it, or choose another port with ${s.envPortVar}=<port> npm start.`);
      process.exit(1);
    }
  }

  const urls = {
    auth: `http://localhost:${ports.auth}`,
    resource: `http://localhost:${ports.resource}`,
    client: `http://localhost:${ports.client}`,
  };
  const baseEnv = { ...process.env, HOST: host };
  const envFor = {
    auth: { ...baseEnv, PORT: String(ports.auth), ISSUER: process.env.ISSUER ?? urls.auth, RESOURCE_AUDIENCE: urls.resource, DEMO_CLIENT_REDIRECT_URI: `${urls.client}/callback` },
    resource: { ...baseEnv, PORT: String(ports.resource), RESOURCE_ID: urls.resource, AUTHORIZATION_SERVER: urls.auth },
    client: { ...baseEnv, PORT: String(ports.client), PUBLIC_URL: urls.client, AUTHORIZATION_SERVER: urls.auth, RESOURCE_SERVER: urls.resource },
  };
  // Each service keeps its own database URL variable so one shell can point them at different servers.
  if (process.env.AUTH_DATABASE_URL) envFor.auth.DATABASE_URL = process.env.AUTH_DATABASE_URL;
  if (process.env.RESOURCE_DATABASE_URL) envFor.resource.DATABASE_URL = process.env.RESOURCE_DATABASE_URL;

  console.log('Preparing databases (migrations and demo data)…');
  await Promise.all(services.map(async (s) => {
    for (const script of s.prepare) await run(s, script, envFor[s.key]);
  }));

  console.log('Starting the three services…');
  const procs = services.map((s) => {
    const child = spawn(process.execPath, [tsx, 'src/server.ts'], { cwd: join(root, s.dir), env: envFor[s.key], stdio: ['ignore', 'pipe', 'pipe'] });
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
    await Promise.all(procs.map(({ s, child }) => waitReady(`${urls[s.key]}/readyz`, child).catch((err) => {
      throw new Error(`${s.name} ${err.message}`);
    })));
  } catch (err) {
    console.error(`Could not start Quartet: ${err.message}`);
    stopAll(1);
    return;
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log([
    '',
    `Quartet is ready (${seconds} s). Open ${urls.client} and click "Connect my photos".`,
    `  Log in as alice / wonderland (or bob / builder).`,
    `  client app            ${urls.client}  — ${services[2].role}`,
    `  authorization server  ${urls.auth}  — ${services[0].role}`,
    `  resource server       ${urls.resource}  — ${services[1].role}`,
    `  you, at the browser   — the resource owner, who decides what the app may see`,
    'Press Ctrl-C to stop all three.',
    '',
  ].join('\n'));
}

main().catch((err) => {
  console.error(`Could not start Quartet: ${err.message}`);
  stopAll(1);
});
