// The real entry point (src/server.ts), started as a child process the way `npm start` does: the start
// output names the session store, and the single-instance line appears exactly once when REDIS_URL is
// unset and never when it is set. SIGTERM closes it cleanly (exit code 0).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { SINGLE_INSTANCE_NOTICE } from '@quartet/common';
import { unusedPort } from './fixtures/http.js';

const serviceDir = fileURLToPath(new URL('..', import.meta.url));

interface LogLine {
  level: number;
  msg?: string;
}

/** Starts the server, waits for its last start-up line, stops it with SIGTERM; returns its log lines and exit code. */
async function startAndStop(env: Record<string, string>): Promise<{ lines: LogLine[]; code: number | null }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env };
  for (const name of [
    'REDIS_URL',
    'REDIS_PREFIX',
    'PUBLIC_URL',
    'AUTHORIZATION_SERVER',
    'RESOURCE_SERVER',
    'CLIENT_SECRET',
  ]) {
    if (!(name in env)) delete childEnv[name];
  }
  // Through env(1) without tap's coverage hooks: tap re-adds them to any child it sees, and the child's
  // tsx-compiled sources would then be merged into this run's coverage under the same file names, garbled.
  const child = spawn(
    'env',
    ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', process.execPath, '--import', 'tsx', 'src/server.ts'],
    {
      cwd: serviceDir,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: LogLine[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let buffered = '';
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up line within 30 s; stderr: ${stderr}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const raw = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!raw.trim()) continue;
        const line = JSON.parse(raw) as LogLine;
        lines.push(line);
        // The last describe line of src/server.ts: everything of the start has been logged.
        if (line.msg?.startsWith('resource server:')) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before starting; stderr: ${stderr}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await started;
  } finally {
    child.kill('SIGTERM');
  }
  return { lines, code: await exited };
}

t.test('REDIS_URL unset: one single-instance line at start, and the in-process store named', async (t) => {
  const { lines, code } = await startAndStop({});
  t.equal(lines.filter((l) => l.msg === SINGLE_INSTANCE_NOTICE).length, 1, 'exactly once');
  t.equal(lines.find((l) => l.msg === SINGLE_INSTANCE_NOTICE)?.level, 40, 'at warn level');
  t.ok(
    lines.some((l) => l.msg?.startsWith('session store: in-process store')),
    'the start output names the store',
  );
  t.equal(code, 0, 'SIGTERM: clean exit');
});

t.test('REDIS_URL set: no single-instance line, Redis named', async (t) => {
  // Nothing needs to listen there: the app connects lazily and only readiness would notice.
  const { lines, code } = await startAndStop({ REDIS_URL: `redis://127.0.0.1:${await unusedPort()}` });
  t.equal(lines.filter((l) => /single-instance/.test(l.msg ?? '')).length, 0, 'not logged');
  t.ok(
    lines.some((l) => l.msg?.startsWith('session store: Redis at 127.0.0.1:')),
    'the start output names Redis',
  );
  t.equal(code, 0, 'SIGTERM: clean exit');
});
