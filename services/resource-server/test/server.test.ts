// The entry points as an operator runs them: bad config exits 1 naming the variable; the server starts on a
// brand-new store (AUTO_MIGRATE + SEED_DEMO_DATA, as the root `npm start` runs it) even though the
// authorization server is down, answers probes, and shuts down gracefully on SIGTERM; migrate and seed are
// idempotent. Each runs against the suite's backend: a PostgreSQL server with TEST_DATABASE_URL, else an
// embedded PGlite folder (DATA_DIR).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createTestDatabase, freePort, realDatabase } from '@quartet/testing';
import { databaseLocation } from '../src/config.js';
import { openPrisma } from '../src/lib/prisma.js';
import { MIGRATIONS_DIR, freshStore, sleep, testConfig } from './helper.js';

const cwd = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// The children run under tsx, whose source maps differ from tap's TypeScript loader: tap's process tracker
// (which wraps spawn) would merge their mismatched line ranges into the report, so their coverage is excluded.
// The store is chosen per test (DATABASE_URL or DATA_DIR), never inherited from the shell running the suite.
const childEnv: NodeJS.ProcessEnv = { ...process.env, _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./' };
for (const name of ['DATABASE_URL', 'DATA_DIR', 'AUTO_MIGRATE', 'SEED_DEMO_DATA']) delete childEnv[name];

function run(
  script: string,
  env: NodeJS.ProcessEnv,
  onStart?: (child: ReturnType<typeof spawn>) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd,
      env: { ...childEnv, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    onStart?.(child);
  });
}

t.test('bad configuration stops the server with a message naming the variable', async (t) => {
  const result = await run('src/server.ts', { PORT: 'not-a-port' });
  t.equal(result.code, 1);
  t.match(result.stderr, /Invalid configuration: .*PORT/);
});

t.test('a port that is already taken stops the server with a message naming the port and PORT', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise((resolve) => blocker.close(resolve)));
  const { port } = blocker.address() as net.AddressInfo;
  const db = await createTestDatabase(MIGRATIONS_DIR, 'rs_port');
  t.teardown(() => db.drop());
  const result = await run('src/server.ts', { PORT: String(port), ...db.env });
  t.equal(result.code, 1);
  t.match(result.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use; set PORT`));
});

t.test(
  'started as `npm start` does on a fresh store: migrates, seeds, serves with the AS down, stops on SIGTERM',
  async (t) => {
    const env = await freshStore(t);
    const port = await freePort();
    const deadAs = await freePort();
    let ready = false;
    const result = await run(
      'src/server.ts',
      {
        PORT: String(port),
        ...env,
        AUTO_MIGRATE: 'true',
        SEED_DEMO_DATA: '1',
        AUTHORIZATION_SERVER: `http://127.0.0.1:${deadAs}`,
        LOG_LEVEL: 'info',
      },
      (child) => {
        void (async () => {
          for (let i = 0; i < 300 && !ready; i++) {
            await sleep(200);
            const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
            if (res?.status === 200) ready = true;
          }
          const unavailable = await fetch(`http://127.0.0.1:${port}/photos`, {
            headers: { authorization: 'Bearer a.b.c' },
          }).catch(() => null);
          t.equal(unavailable?.status, 401, 'a malformed token is rejected even though the AS is unreachable');
          child.kill('SIGTERM');
        })();
      },
    );
    t.ok(ready, 'became ready');
    t.equal(result.code, 0, 'graceful exit');
    t.match(result.stdout, /applied migrations: \d+_init/);
    t.match(result.stdout, /demo data in place: 5 photos and 3 documents/);
    t.match(
      result.stdout,
      realDatabase
        ? /database: PostgreSQL at [^"]+\/quartet_rs_fresh_/
        : `database: embedded PostgreSQL (PGlite) in ${env.DATA_DIR}`,
    );
    t.notMatch(result.stdout, /Bearer a\.b\.c/, 'tokens are not logged');
    // The shutdown closed the database cleanly (an embedded one must be, or recent writes may be lost): the
    // store opens again in this process and holds what the server wrote.
    t.same(await countRows(env), { photos: 5, documents: 3 });
  },
);

/** Rows in the store `env` names, read through the service's own Prisma setup (works in both modes). */
async function countRows(env: NodeJS.ProcessEnv): Promise<{ photos: number; documents: number }> {
  const db = await openPrisma(databaseLocation(testConfig(env)));
  try {
    return { photos: await db.prisma.photo.count(), documents: await db.prisma.document.count() };
  } finally {
    await db.close();
  }
}

t.test('npm run migrate and npm run seed are idempotent', async (t) => {
  const env = await freshStore(t);
  const first = await run('src/cli/migrate.ts', env);
  t.equal(first.code, 0, first.stderr);
  if (realDatabase) {
    const name = new URL(env.DATABASE_URL ?? '').pathname.slice(1);
    t.match(
      first.stdout,
      new RegExp(`^created database ${name}\\ndatabase: PostgreSQL at [^\\n]+/${name}\\napplied \\d+_init\\n$`),
    );
  } else {
    t.equal(first.stdout.split('\n')[0], `database: embedded PostgreSQL (PGlite) in ${env.DATA_DIR}`);
    t.match(first.stdout, /\napplied \d+_init\n$/);
  }
  const second = await run('src/cli/migrate.ts', env);
  t.match(second.stdout, /database is up to date/);
  for (let i = 0; i < 2; i++) {
    const seeded = await run('src/cli/seed.ts', env);
    t.equal(seeded.code, 0, seeded.stderr);
    t.match(seeded.stdout, /seeded 5 photos and 3 documents/);
  }
  t.same(await countRows(env), { photos: 5, documents: 3 }, 'no duplicates after seeding twice');

  const bad = await run('src/cli/migrate.ts', { DATABASE_URL: 'mysql://nope' });
  t.equal(bad.code, 1);
  t.match(bad.stderr, /DATABASE_URL/);
  const badSeed = await run('src/cli/seed.ts', { DATABASE_URL: 'mysql://nope' });
  t.equal(badSeed.code, 1);
  t.match(badSeed.stderr, /DATABASE_URL must be a postgresql:\/\/ URL/);
});
