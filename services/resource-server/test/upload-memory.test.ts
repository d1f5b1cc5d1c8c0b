// Uploads are bounded in memory: the resource server runs as its container image runs it (the esbuild bundle
// of scripts/build-services.mjs, with the Dockerfile's ENV and node flags, e.g. --max-old-space-size=128),
// and 40 clients upload a 2 MB PNG each at the same moment. Every answer must be 201 or 503 + Retry-After
// (MAX_CONCURRENT_UPLOADS turned the rest away before reading their bodies), and the process's peak resident
// memory (VmHWM in /proc/<pid>/status, which covers the whole life of the process) must stay under the
// 384 MiB memory limit of infra/base/resource-server.yaml. Afterwards every slot is free again.
//
// Needs a real PostgreSQL: the Kubernetes deployment runs against one, and an embedded PGlite inside the
// process would take ~400 MB by itself and say nothing about uploads.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { PNG } from 'pngjs';
import { createTestDatabase, freePort, needsRealDatabase, stopProcess } from '@quartet/testing';
import { imageRuntime } from '../../../bench/lib/image-runtime.mjs';
import { IMAGE_MAX_BYTES } from '../src/lib/validation.js';
import { FakeAuthorizationServer, MIGRATIONS_DIR, RESOURCE_ID, bearer, sleep } from './helper.js';

const serviceDir = fileURLToPath(new URL('..', import.meta.url));
const root = join(serviceDir, '..', '..');
const bundle = join(serviceDir, 'dist', 'server.mjs');
const MEMORY_LIMIT_MIB = 384; // infra/base/resource-server.yaml, resources.limits.memory
const UPLOADS = 40;

/** Newest modification time of any file under `dir` (ms). */
function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) max = Math.max(max, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return max;
}

/**
 * dist/server.mjs as `npm run build` makes it, rebuilt only when a source is newer: the root suite and the
 * benchmark build the same bundle, and rebuilding it under a process that is starting from it would break that.
 */
function ensureBundle(): void {
  let built = 0;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    // not built yet
  }
  const sources = Math.max(newest(join(serviceDir, 'src')), newest(join(root, 'shared', 'common', 'src')));
  if (built > sources) return;
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'build-services.mjs'), 'resource-server'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`build-services failed:\n${result.stdout}${result.stderr}`);
}

/** A real PNG of random pixels, as large as an upload may be (random data does not compress). */
function bigPng(): Buffer {
  const side = 720;
  const png = new PNG({ width: side, height: side });
  let seed = 42;
  for (let i = 0; i < png.data.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    png.data[i] = seed >>> 24;
  }
  const bytes = PNG.sync.write(png, { deflateLevel: 1 });
  if (bytes.length > IMAGE_MAX_BYTES || bytes.length < IMAGE_MAX_BYTES * 0.9)
    throw new Error(`test PNG is ${bytes.length} bytes`);
  return bytes;
}

function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}

async function startBundle(
  t: { teardown(fn: () => unknown): void },
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const runtime = imageRuntime('resource-server');
  const base: NodeJS.ProcessEnv = { ...process.env };
  // Nothing of the test runner's own process setup (tap's loaders, V8 coverage, which costs memory) and no
  // inherited store.
  for (const key of [
    'NODE_OPTIONS',
    'NODE_V8_COVERAGE',
    'MALLOC_ARENA_MAX',
    'DATABASE_URL',
    'DATA_DIR',
    'AUTO_MIGRATE',
    'SEED_DEMO_DATA',
    'WORKSHOP_MODE',
  ])
    delete base[key];
  for (const key of Object.keys(base)) if (key.startsWith('TAP') || key.startsWith('_TAP')) delete base[key];
  const port = await freePort();
  // tap wraps child_process and adds its coverage loader to every child's NODE_OPTIONS (about 90 MB of RSS);
  // env(1) sets NODE_OPTIONS back to exactly the image's value, so the process measured is the image's.
  const { NODE_OPTIONS: nodeOptions = '', ...imageEnv } = runtime.env;
  const child = spawn('env', [`NODE_OPTIONS=${nodeOptions}`, process.execPath, ...runtime.nodeArgs, bundle], {
    cwd: serviceDir,
    env: { ...base, ...imageEnv, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
  t.teardown(() => stopProcess(child, 10_000));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the bundle exited with ${child.exitCode}:\n${out}`);
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, child, output: () => out };
    if (Date.now() > deadline) throw new Error(`the bundle was not ready within 60 s:\n${out}`);
    await sleep(100);
  }
}

t.test(
  `${UPLOADS} concurrent 2 MB uploads keep the process under ${MEMORY_LIMIT_MIB} MiB and answer 201 or 503`,
  { skip: needsRealDatabase },
  async (t) => {
    ensureBundle();
    const db = await createTestDatabase(MIGRATIONS_DIR, 'rs_upload_memory');
    t.teardown(() => db.drop());
    const as = await FakeAuthorizationServer.start();
    t.teardown(() => as.stop());
    const rs = await startBundle(t, { ...db.env, RESOURCE_ID, AUTHORIZATION_SERVER: as.issuer });
    const pid = rs.child.pid!;

    const png = bigPng();
    const body = Buffer.from(
      JSON.stringify({ title: 'Burst', contentType: 'image/png', data: png.toString('base64') }),
    );
    // Distinct users, as a real burst would be; every token has photos:write.
    const tokens = await Promise.all(
      Array.from({ length: UPLOADS }, () => as.token({ claims: { sub: randomUUID() } })),
    );
    interface Answer {
      status: number;
      retryAfter: string | null;
      body: { error?: string; error_description?: string };
    }
    const upload = (token: string): Promise<Answer> =>
      fetch(`${rs.url}/photos`, {
        method: 'POST',
        headers: { ...bearer(token), 'content-type': 'application/json' },
        body,
      }).then(
        async (res) => ({
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          body: (await res.json()) as { error?: string; error_description?: string },
        }),
        (err: Error) => ({
          status: 0,
          retryAfter: null,
          body: { error: `no answer: ${String((err.cause as Error | undefined)?.message ?? err.message)}` },
        }),
      );

    // Discovery and keys first, so the burst measures uploads; then the memory before it.
    t.equal((await fetch(`${rs.url}/photos`, { headers: bearer(tokens[0]!) })).status, 200);
    const before = memoryOf(pid);

    // Sampled too, so a process that dies during the burst still reports how far it got.
    let sampledMiB = 0;
    let sampledHwmMiB = 0;
    const sampler = setInterval(() => {
      if (rs.child.exitCode !== null || rs.child.signalCode !== null) return;
      const now = memoryOf(pid);
      // A process that is exiting has no VmRSS line any more (NaN): keep what was seen.
      if (now.rssMiB >= 0) sampledMiB = Math.max(sampledMiB, now.rssMiB);
      if (now.hwmMiB >= 0) sampledHwmMiB = Math.max(sampledHwmMiB, now.hwmMiB);
    }, 10);
    const started = Date.now();
    const answers = await Promise.all(tokens.map(upload));
    clearInterval(sampler);
    await sleep(50);
    const alive = rs.child.exitCode === null && rs.child.signalCode === null;
    const after = alive ? memoryOf(pid) : { rssMiB: NaN, hwmMiB: sampledHwmMiB };
    const created = answers.filter((a) => a.status === 201).length;
    const refused = answers.filter((a) => a.status === 503).length;
    t.comment(
      `burst of ${UPLOADS} x ${png.length} bytes in ${Date.now() - started} ms: ${created} created, ${refused} refused; ` +
        `${answers.filter((a) => a.status === 0).length} without an answer; RSS before ${before.rssMiB.toFixed(0)} MiB, highest sampled ${sampledMiB.toFixed(0)} MiB, peak (VmHWM) ${after.hwmMiB.toFixed(0)} MiB`,
    );

    t.ok(alive, `the process is still running\n${rs.output().slice(-3000)}`);
    t.ok(after.hwmMiB < MEMORY_LIMIT_MIB, `peak RSS ${after.hwmMiB.toFixed(0)} MiB < ${MEMORY_LIMIT_MIB} MiB`);
    for (const answer of answers) {
      if (answer.status === 201) continue;
      t.same(answer, {
        status: 503,
        retryAfter: '5',
        body: { error: 'temporarily_unavailable', error_description: answer.body.error_description },
      });
    }
    t.equal(created + refused, UPLOADS, 'every answer is 201 or 503');
    t.ok(created >= 1, 'uploads within the limit were stored');

    // Every slot was given back: uploads one after another all succeed.
    for (let i = 0; i < 6; i++) t.equal((await upload(tokens[i]!)).status, 201, `sequential upload ${i + 1}`);
  },
);
