// The production build the container images run, exercised without Docker (test/containers.test.ts runs the
// images themselves):
// scripts/build-services.mjs bundles every service, then each bundle runs as a plain `node dist/<entry>.mjs`
// process — no tsx, no TypeScript loader (NODE_OPTIONS cleared), started from an unrelated working
// directory — the way the images' CMD and the compose one-off jobs run them (the servers with the node flags,
// NODE_OPTIONS and MALLOC_ARENA_MAX of their Dockerfile's runtime stage, read by bench/lib/image-runtime.mjs):
//   1. `node dist/migrate.mjs` applies prisma/migrations to an empty database (AS and RS),
//   2. `node dist/seed.mjs` stores the demo data,
//   3. `node dist/server.mjs` serves /readyz, pages from views/, files from public/, and the whole
//      authorization-code flow across the three bundled services;
//   4. with real PostgreSQL and Redis, `npm run bench`'s script runs every scenario briefly against them.
// Real PostgreSQL/Redis when TEST_DATABASE_URL / TEST_REDIS_URL are set, else embedded PGlite and the
// in-process store.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  createRedisPrefix,
  createTestDatabase,
  describeTestBackends,
  needsRealDatabase,
  needsRealRedis,
} from '@quartet/testing';
import { Browser, authorizeAs } from './support/browser.js';
import { freePort, root, stopProcess } from './support/processes.js';
import { imageRuntime } from '../bench/lib/image-runtime.mjs';

// Bundles, migrations and the demo take well under a minute; the benchmark's short run about another one.
t.setTimeout(300_000);

const ENTRIES: Record<string, string[]> = {
  'authorization-server': ['server', 'migrate', 'seed', 'keys', 'clients'],
  'resource-server': ['server', 'migrate', 'seed'],
  'client-app': ['server'],
};

// A working directory that is none of the service folders: paths must come from the bundle's own location.
const cwd = await mkdtemp(join(tmpdir(), 'quartet-images-cwd-'));
t.teardown(() => rm(cwd, { recursive: true, force: true }));

/** Environment of a bundled process: no TypeScript loader from the test runner, no inherited backends. */
function bundleEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const key of ['NODE_OPTIONS', 'DATABASE_URL', 'REDIS_URL', 'REDIS_PREFIX', 'DATA_DIR']) delete base[key];
  return { ...base, LOG_LEVEL: 'warn', ...env };
}

function runBundle(service: string, entry: string, env: Record<string, string>) {
  return spawnSync(process.execPath, [join(root, 'services', service, 'dist', `${entry}.mjs`)], {
    cwd,
    env: bundleEnv(env),
    encoding: 'utf8',
    timeout: 60_000,
  });
}

interface Running {
  url: string;
  child: ChildProcess;
  output: () => string;
}

async function startBundle(service: string, port: number, env: Record<string, string>): Promise<Running> {
  // The image's runtime settings, except NODE_ENV: production would refuse the demo secrets these tests use.
  const {
    env: { NODE_ENV: _production, ...imageEnv },
    nodeArgs,
  } = imageRuntime(service);
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'services', service, 'dist', 'server.mjs')], {
    cwd,
    env: bundleEnv({ ...imageEnv, ...env, PORT: String(port), HOST: '127.0.0.1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  t.teardown(() => stopProcess(child));
  const url = `http://localhost:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${service} bundle exited with ${child.exitCode}:\n${out}`);
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, child, output: () => out };
    if (Date.now() > deadline) throw new Error(`${service} bundle not ready within 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.comment(`backends: ${describeTestBackends()}`);

t.test('the build bundles every entry point into dist/', async (t) => {
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build-services.mjs')], {
    cwd: root,
    encoding: 'utf8',
  });
  t.equal(build.status, 0, `build-services exits 0\n${build.stdout}${build.stderr}`);
  for (const [service, entries] of Object.entries(ENTRIES)) {
    for (const entry of entries) {
      t.ok(
        existsSync(join(root, 'services', service, 'dist', `${entry}.mjs`)),
        `services/${service}/dist/${entry}.mjs`,
      );
    }
  }
  const unknown = spawnSync(process.execPath, [join(root, 'scripts', 'build-services.mjs'), 'no-such-service'], {
    cwd: root,
    encoding: 'utf8',
  });
  t.not(unknown.status, 0, 'an unknown service name fails the build');
});

t.test('the bundled CLIs migrate and seed empty databases, and the bundled servers run the demo', async (t) => {
  // Empty databases (no migrations applied): the bundled migrate CLI has to find prisma/migrations itself.
  const noMigrations = await mkdtemp(join(tmpdir(), 'quartet-images-empty-'));
  t.teardown(() => rm(noMigrations, { recursive: true, force: true }));
  const authDb = await createTestDatabase(noMigrations, 'images_auth');
  const resourceDb = await createTestDatabase(noMigrations, 'images_resource');
  const authRedis = createRedisPrefix('images-auth');
  const clientRedis = createRedisPrefix('images-client');
  t.teardown(async () => {
    await Promise.all([authDb.drop(), resourceDb.drop(), authRedis.cleanup(), clientRedis.cleanup()]);
  });

  const [authPort, resourcePort, clientPort] = [await freePort(), await freePort(), await freePort()];
  const urls = {
    auth: `http://localhost:${authPort}`,
    resource: `http://localhost:${resourcePort}`,
    client: `http://localhost:${clientPort}`,
  };
  const authEnv = {
    ...authDb.env,
    ...authRedis.env,
    ISSUER: urls.auth,
    RESOURCE_AUDIENCE: urls.resource,
    DEMO_CLIENT_REDIRECT_URI: `${urls.client}/callback`,
    DEMO_CLIENT_SECRET: 'images-test-client-secret',
    KEY_ENCRYPTION_SECRET: 'images-test-key-encryption-secret',
    PASSWORD_SCRYPT_N: '1024',
  };
  const resourceEnv = { ...resourceDb.env, RESOURCE_ID: urls.resource, AUTHORIZATION_SERVER: urls.auth };

  for (const [service, env] of [
    ['authorization-server', authEnv],
    ['resource-server', resourceEnv],
  ] as const) {
    const migrate = runBundle(service, 'migrate', env);
    t.equal(migrate.status, 0, `${service}: dist/migrate.mjs exits 0\n${migrate.stdout}${migrate.stderr}`);
    t.match(migrate.stdout, /applied.*20261127000000_init/, `${service}: migrations applied from prisma/migrations`);
    const seed = runBundle(service, 'seed', env);
    t.equal(seed.status, 0, `${service}: dist/seed.mjs exits 0\n${seed.stdout}${seed.stderr}`);
  }

  // Services refuse to start on an unmigrated database unless AUTO_MIGRATE; these were migrated above.
  const [auth, resource] = await Promise.all([
    startBundle('authorization-server', authPort, authEnv),
    startBundle('resource-server', resourcePort, resourceEnv),
  ]);
  const client = await startBundle('client-app', clientPort, {
    ...clientRedis.env,
    PUBLIC_URL: urls.client,
    AUTHORIZATION_SERVER: urls.auth,
    RESOURCE_SERVER: urls.resource,
    CLIENT_SECRET: 'images-test-client-secret',
  });

  // Files found through src/paths.ts from dist/: stylesheets (public/), pages (views/).
  const authCss = await fetch(`${auth.url}/assets/style.css`);
  t.equal(authCss.status, 200, 'AS stylesheet from src/public');
  t.match(authCss.headers.get('content-type'), /^text\/css/);
  const clientCss = await fetch(`${client.url}/static/style.css`);
  t.equal(clientCss.status, 200, 'client stylesheet from public/');
  const home = await fetch(`${client.url}/`);
  t.equal(home.status, 200);
  t.match(await home.text(), /Connect my photos/, 'client home page rendered from views/');
  const errorPage = await fetch(`${auth.url}/authorize?response_type=code&client_id=no-such-client`);
  t.equal(errorPage.status, 400, 'unknown client: an error page, never a redirect');
  t.match(await errorPage.text(), /<html/i, 'AS error page rendered from src/views');

  // The resource server answers RFC 6750 errors; a missing token is 401 with a Bearer challenge.
  const noToken = await fetch(`${resource.url}/photos`);
  t.equal(noToken.status, 401);
  t.match(noToken.headers.get('www-authenticate'), /^Bearer /);

  // The whole flow across the three bundled processes: login page (views), seeded user and client,
  // tokens signed with keys in the migrated database, verified by the resource server through the JWKS.
  const browser = new Browser();
  const connect = await browser.request(`${client.url}/connect`);
  t.equal(connect.status, 303, 'connect redirects to the authorization endpoint');
  t.match(connect.location, `${urls.auth}/authorize`);
  const loginPage = (await browser.follow(connect)).at(-1)!;
  t.match(loginPage.body, /password/i, 'login page rendered');
  const callback = await authorizeAs(browser, connect.location!, `${urls.client}/callback`);
  const pages = await browser.follow(await browser.request(callback));
  const photos = pages.at(-1)!;
  t.equal(photos.status, 200, photos.status === 200 ? 'photos page' : `photos page (${browser.history.join(', ')})`);
  t.match(
    photos.body,
    /\/photos\/[^"]+\/image/,
    "alice's seeded photos, fetched from the resource server with the token",
  );

  for (const s of [auth, resource, client]) t.notMatch(s.output(), /"level":(50|60)/, 'no error logged');
});

// The benchmark runs these same bundles with the same image settings; a change that breaks one of its
// scenarios should fail here, not on the next person to run `npm run bench`. One second per scenario and no
// warm-up: this checks that every scenario completes with zero errors and cleans up, not how fast it is.
t.test(
  'the benchmark runs every scenario against the bundles and removes what it created',
  { skip: needsRealDatabase || needsRealRedis },
  async (t) => {
    const out = await mkdtemp(join(tmpdir(), 'quartet-bench-out-'));
    t.teardown(() => rm(out, { recursive: true, force: true }));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BENCH_DATABASE_URL: process.env.TEST_DATABASE_URL,
      BENCH_REDIS_URL: process.env.TEST_REDIS_URL,
    };
    delete env.NODE_OPTIONS;
    const args = [
      '--duration=1',
      '--warmup=0',
      '--connections=4',
      '--flow-workers=4',
      '--startup-repeat=1',
      `--out=${out}`,
    ];
    const run = spawnSync(process.execPath, [join(root, 'bench', 'run.mjs'), ...args], {
      cwd: root,
      env,
      encoding: 'utf8',
      timeout: 200_000,
    });
    t.equal(run.status, 0, `bench exits 0\n${run.stderr.slice(-3000)}`);
    const runId = /\[bench\] run ([0-9a-f]+):/.exec(run.stderr)?.[1];
    t.ok(runId, 'the run names its id');

    const file = readdirSync(out).find((f) => f.endsWith('.json'));
    t.ok(file, 'machine-readable results written');
    const summary = JSON.parse(readFileSync(join(out, file!), 'utf8')) as {
      scenarios: Record<
        string,
        { rps: number; errors: number; ratio?: number; ofLimit?: number; cpuUsPerRequest: Record<string, number> }
      >;
      startup: Record<string, { startupMs: number; idleRssMB: number }>;
    };
    const load = [
      'baseline',
      'token-code',
      'token-code-dpop',
      'limit-token-code',
      'token-refresh',
      'token-client-credentials',
      'resource-read',
      'resource-read-dpop',
      'limit-resource-read',
      'flow',
    ];
    t.same(Object.keys(summary.scenarios).sort(), [...load].sort(), 'every load scenario reported');
    for (const name of load) {
      const r = summary.scenarios[name]!;
      t.ok(r.rps > 0, `${name}: completed requests`);
      t.equal(r.errors, 0, `${name}: zero errors`);
      t.ok(
        Object.values(r.cpuUsPerRequest).every((us) => us > 0),
        `${name}: CPU per request measured`,
      );
    }
    t.ok(
      summary.scenarios['token-code']!.ofLimit! > 0 && summary.scenarios['resource-read']!.ofLimit! > 0,
      'compared with the limit program',
    );
    t.same(Object.keys(summary.startup).sort(), ['authorization-server', 'client-app', 'resource-server']);
    for (const [name, s] of Object.entries(summary.startup))
      t.ok(s.startupMs > 0 && s.idleRssMB > 0, `${name}: start-up time and idle memory`);
    t.match(run.stdout, /Targets:/, 'verdicts printed');

    // Its databases and Redis keys are gone.
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    const { rows } = await admin.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `quartet_bench_%_${runId}`,
    ]);
    await admin.end();
    t.same(rows, [], 'bench databases dropped');
    const redis = new Redis(process.env.TEST_REDIS_URL!);
    const keys = await redis.keys(`quartet:bench:${runId}:*`);
    redis.disconnect();
    t.same(keys, [], 'bench Redis keys removed');
  },
);
