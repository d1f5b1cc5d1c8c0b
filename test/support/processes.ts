// Starts Quartet services as real, separate Node processes for end-to-end tests, the way `npm start` does.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stopProcess } from '@quartet/testing';

// Where tests start a service and how they stop one are shared with the services' own process tests.
export { freePort, stopProcess } from '@quartet/testing';

export const root = join(import.meta.dirname, '..', '..');
// tsx as a loader in the service's own process, as `npm start` runs it: the tsx CLI would put a second
// process in front that SIGKILLs the service when it does not acknowledge a SIGTERM within 60 ms (a busy
// service), so graceful shutdown could never be observed.
const tsxLoader = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** The caller's environment minus backend settings: each test says which backends a service uses. */
function inherited(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'REDIS_PREFIX', 'DATA_DIR']) delete env[key];
  return env;
}

export interface RunningService {
  name: string;
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

export async function startService(
  name: string,
  serviceDir: string,
  port: number,
  env: Record<string, string>,
): Promise<RunningService> {
  const child = spawn(process.execPath, ['--import', tsxLoader, 'src/server.ts'], {
    cwd: join(root, serviceDir),
    env: { ...inherited(), ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: env.LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = `http://localhost:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was ready:\n${out}`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    name,
    url,
    child,
    output: () => out,
    stop: () => stopProcess(child),
  };
}
