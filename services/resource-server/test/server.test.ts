// The entry points as an operator runs them: bad config exits 1 naming the variable; the server starts even
// though the authorization server is down, answers probes, and shuts down gracefully on SIGTERM; migrate and
// seed are idempotent.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import pg from 'pg';
import { adminDatabaseUrl, createTestDatabase } from '@quartet/testing';
import { MIGRATIONS_DIR, sleep } from './helper.js';

const cwd = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// The children run under tsx, whose source maps differ from tap's TypeScript loader: tap's process tracker
// (which wraps spawn) would merge their mismatched line ranges into the report, so their coverage is excluded.
const childEnv = { ...process.env, _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./' };

function run(script: string, env: NodeJS.ProcessEnv, onStart?: (child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd, env: { ...childEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    onStart?.(child);
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
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
  const result = await run('src/server.ts', { PORT: String(port), DATABASE_URL: db.url });
  t.equal(result.code, 1);
  t.match(result.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use; set PORT`));
});

t.test('the server starts with the AS down, serves probes, and stops on SIGTERM', async (t) => {
  const db = await createTestDatabase(MIGRATIONS_DIR, 'rs_server');
  t.teardown(() => db.drop());
  const port = await freePort();
  const deadAs = await freePort();
  let ready = false;
  const result = await run(
    'src/server.ts',
    { PORT: String(port), DATABASE_URL: db.url, AUTHORIZATION_SERVER: `http://127.0.0.1:${deadAs}`, LOG_LEVEL: 'info' },
    (child) => {
      void (async () => {
        for (let i = 0; i < 100 && !ready; i++) {
          await sleep(200);
          const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
          if (res?.status === 200) ready = true;
        }
        const unavailable = await fetch(`http://127.0.0.1:${port}/photos`, { headers: { authorization: 'Bearer a.b.c' } }).catch(() => null);
        t.equal(unavailable?.status, 401, 'a malformed token is rejected even though the AS is unreachable');
        child.kill('SIGTERM');
      })();
    },
  );
  t.ok(ready, 'became ready');
  t.equal(result.code, 0, 'graceful exit');
  t.match(result.stdout, /database: PostgreSQL at 127\.0\.0\.1:5432/);
  t.notMatch(result.stdout, /Bearer a\.b\.c/, 'tokens are not logged');
});

t.test('npm run migrate and npm run seed are idempotent', async (t) => {
  const name = `quartet_rs_cli_${randomBytes(4).toString('hex')}`;
  const url = new URL(adminDatabaseUrl());
  url.pathname = `/${name}`;
  t.teardown(async () => {
    const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });
  const env = { DATABASE_URL: url.toString() };
  const first = await run('src/cli/migrate.ts', env);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, new RegExp(`created database ${name}\\napplied \\d+_init`));
  const second = await run('src/cli/migrate.ts', env);
  t.match(second.stdout, /database is up to date/);
  for (let i = 0; i < 2; i++) {
    const seeded = await run('src/cli/seed.ts', env);
    t.equal(seeded.code, 0, seeded.stderr);
    t.match(seeded.stdout, /seeded 5 photos and 3 documents/);
  }
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM photos');
  await client.end();
  t.equal(rows[0]?.n, '5', 'no duplicates after seeding twice');

  const bad = await run('src/cli/migrate.ts', { DATABASE_URL: 'mysql://nope' });
  t.equal(bad.code, 1);
  t.match(bad.stderr, /DATABASE_URL/);
});
