// Services as production runs them: `node services/<x>/dist/server.mjs` (the esbuild bundles of
// `npm run build`), each its own process on loopback. Start-up is timed from spawn to the first
// 200 from /readyz; memory comes from /proc/<pid>/status (VmRSS now, VmHWM = peak since start).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import net from 'node:net';
import { join } from 'node:path';
import { request } from './http.mjs';

export const root = join(import.meta.dirname, '..', '..');

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * The caller's environment minus anything that would change how a process runs or which backend it uses,
 * plus `image` (the ENV of a service's imageRuntime) and BENCH_NODE_OPTIONS (--node-options=…) for experiments.
 */
function cleanEnv(env, image = {}) {
  const base = { ...process.env };
  for (const key of [
    'NODE_OPTIONS',
    'MALLOC_ARENA_MAX',
    'DATABASE_URL',
    'REDIS_URL',
    'REDIS_PREFIX',
    'DATA_DIR',
    'WORKSHOP_MODE',
  ])
    delete base[key];
  const nodeOptions = [image.NODE_OPTIONS, process.env.BENCH_NODE_OPTIONS].filter(Boolean).join(' ');
  return {
    ...base,
    NODE_ENV: 'production',
    ...image,
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
    LOG_LEVEL: 'warn',
    ...env,
  };
}

/** Runs a bundled CLI (migrate, seed) to completion; throws with its output when it fails. */
export function runBundle(service, entry, env) {
  const result = spawnSync(process.execPath, [join(root, 'services', service, 'dist', `${entry}.mjs`)], {
    cwd: root,
    env: cleanEnv(env),
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.status !== 0)
    throw new Error(`${service} ${entry} failed (${result.status}):\n${result.stdout}${result.stderr}`);
  return result.stdout.trim();
}

/** { rssMB, hwmMB } of a live process. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
  } catch {
    return { rssMB: NaN, hwmMB: NaN };
  }
}

/**
 * CPU time (user + system) a live process has used so far, in ms, from /proc/<pid>/stat (fields 14 and 15,
 * in clock ticks; 100 per second on Linux). NaN when the process is gone.
 */
function cpuTimeMs(pid) {
  try {
    // The command name (field 2) may contain spaces; the fields after it start past its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Starts counting the CPU time of `pids`; stop() ends the count (call it as the load ends), and its
 * perRequest(n) gives each pid's µs per completed request.
 */
export function cpuMeter(pids) {
  const before = pids.map(cpuTimeMs);
  return {
    stop() {
      const after = pids.map(cpuTimeMs);
      return {
        perRequest: (completed) =>
          Object.fromEntries(
            pids.map((pid, i) => [pid, completed > 0 ? Math.round(((after[i] - before[i]) * 1000) / completed) : null]),
          ),
      };
    },
  };
}

/** Polls VmRSS of `pids` every `intervalMs`; stop() returns the highest value seen per pid, in MB. */
export function sampleRss(pids, intervalMs = 100) {
  const max = Object.fromEntries(pids.map((p) => [p, 0]));
  const tick = () => {
    for (const pid of pids) max[pid] = Math.max(max[pid], memoryOf(pid).rssMB || 0);
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return max;
    },
  };
}

/**
 * Starts `script` (a path relative to the repository root) with `env`; resolves once /readyz answers 200.
 * `runtime` (imageRuntime) adds the image's environment and node flags; `nodeArgs` go before the script
 * (e.g. --cpu-prof); bench/lib/memory-probe.mjs is preloaded (it only answers SIGUSR2). stop() sends SIGTERM
 * (a graceful shutdown, which also lets --cpu-prof write its profile) and SIGKILLs after 10 s.
 */
export async function startProcess(
  name,
  script,
  env,
  { runtime = { env: {}, nodeArgs: [] }, nodeArgs = [], readyTimeoutMs = 60_000 } = {},
) {
  const port = Number(env.PORT);
  const probeFile = join(tmpdir(), `quartet-bench-memory-${process.pid}-${port}.json`);
  const probe = ['--import', pathToFileURL(join(import.meta.dirname, 'memory-probe.mjs')).href];
  const started = process.hrtime.bigint();
  const extra = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(/\s+/).filter(Boolean) : [];
  const child = spawn(process.execPath, [...probe, ...runtime.nodeArgs, ...extra, ...nodeArgs, join(root, script)], {
    cwd: root,
    env: cleanEnv({ ...env, HOST: '127.0.0.1', BENCH_MEMORY_PROBE_FILE: probeFile }, runtime.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out = (out + d).slice(-20_000)));
  child.stderr.on('data', (d) => (out = (out + d).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${out}`);
    const ok = await request(`${url}/readyz`, { timeoutMs: 1000 }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready within ${readyTimeoutMs / 1000} s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const startupMs = Number(process.hrtime.bigint() - started) / 1e6;
  return {
    name,
    url,
    port,
    child,
    pid: child.pid,
    startupMs,
    output: () => out,
    memory: () => memoryOf(child.pid),
    /** Where the memory is (see memory-probe.mjs), or null when the process did not answer. */
    async memoryBreakdown() {
      rmSync(probeFile, { force: true });
      child.kill('SIGUSR2');
      for (let i = 0; i < 50 && !existsSync(probeFile); i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 20));
      try {
        return JSON.parse(readFileSync(probeFile, 'utf8'));
      } catch {
        return null;
      } finally {
        rmSync(probeFile, { force: true });
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
    },
  };
}
