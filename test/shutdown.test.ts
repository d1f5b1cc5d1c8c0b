// Graceful shutdown of a real service process (runService in @quartet/common): SIGTERM while requests are in
// flight — slow ones (logins: scrypt at the default cost) and fast ones, some of them on keep-alive
// connections that were idle or busy when the signal came — lets every one of them finish with its normal
// status, refuses new connections, closes the stores and exits 0 soon after the last response (an idle or
// kept-alive connection does not hold the exit back). With SHUTDOWN_DELAY_SECONDS the service first drains:
// /readyz answers 503 while everything else is still served. Runs against real PostgreSQL and Redis when
// TEST_DATABASE_URL / TEST_REDIS_URL are set, else embedded.
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { forms } from '@quartet/common';
import { createRedisPrefix, createTestDatabase, describeTestBackends } from '@quartet/testing';
import { freePort, root, startService, type RunningService } from './support/processes.js';

t.setTimeout(180_000);
t.comment(`backends: ${describeTestBackends()}`);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * One HTTP request over `agent`; resolves with the answer, rejects on any connection error. With `bodyAfter`,
 * the headers go first and the body only once that promise resolves (an upload still in progress).
 */
function request(
  port: number,
  agent: http.Agent,
  options: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: string;
    bodyAfter?: Promise<unknown>;
  },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, agent, method: options.method ?? 'GET', path: options.path, headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, at: Date.now() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (!options.bodyAfter) return void req.end(options.body);
    req.setHeader('content-length', Buffer.byteLength(options.body ?? ''));
    req.flushHeaders();
    void options.bodyAfter.then(() => req.end(options.body));
  });
}

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function exitOf(service: RunningService): Promise<{ code: number | null; at: number }> {
  const { child } = service;
  if (child.exitCode !== null) return Promise.resolve({ code: child.exitCode, at: Date.now() });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('authorization server: SIGTERM with requests in flight — all finish normally, then exit 0', async (t) => {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const db = await createTestDatabase(
    join(root, 'services', 'authorization-server', 'prisma', 'migrations'),
    'shutdown_auth',
  );
  const redis = createRedisPrefix('shutdown-auth');
  // Default PASSWORD_SCRYPT_N: each login takes a while, which is what keeps it in flight.
  const service = await startService('authorization-server', 'services/authorization-server', port, {
    ...db.env,
    ...redis.env,
    AUTO_MIGRATE: 'true',
    SEED_DEMO_DATA: 'true',
    ISSUER: issuer,
    LOG_LEVEL: 'info',
  });
  t.teardown(async () => {
    await service.stop();
    await db.drop();
    await redis.cleanup();
  });
  const agent = new http.Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());

  // The account login form: a CSRF cookie and token that every login below reuses.
  const form = await request(port, agent, { path: '/interaction/login' });
  t.equal(form.status, 200);
  const csrf = forms(form.body, `http://127.0.0.1:${port}/interaction/login`)[0]?.fields._csrf;
  const cookie = (form.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
  t.ok(csrf && cookie, 'login form with a CSRF token');
  // Idle keep-alive connections at the moment of the signal: they must not hold the exit back.
  await Promise.all([1, 2, 3].map(() => request(port, agent, { path: '/livez' })));
  t.ok(Object.values(agent.freeSockets).flat().length >= 1, 'idle keep-alive connections exist');
  const spare = new http.Agent({ keepAlive: true });
  t.teardown(() => spare.destroy());
  await request(port, spare, { path: '/livez' });

  // Each request has its own id, to see in the service's log when it has arrived.
  const logins = Array.from({ length: 12 }, (_, i) =>
    request(port, agent, {
      method: 'POST',
      path: '/interaction/login',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': `login-${i}` },
      // Half succeed (303 to the connected apps page), half fail (401): both are normal answers.
      body: new URLSearchParams({
        _csrf: csrf!,
        username: 'alice',
        password: i % 2 === 0 ? 'wonderland' : 'wrong-password',
      }).toString(),
    }),
  );
  // An upload still in progress at the signal: its body only comes once the port refuses new connections.
  let releaseUpload!: () => void;
  const uploadReleased = new Promise<void>((resolve) => (releaseUpload = resolve));
  const upload = request(port, agent, {
    method: 'POST',
    path: '/oauth/token',
    headers: {
      'x-request-id': 'slow-upload',
      authorization: `Basic ${Buffer.from('demo-client:demo-client-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=photos%3Aread',
    bodyAfter: uploadReleased,
  });
  const tokens = Array.from({ length: 8 }, (_, i) =>
    request(port, agent, {
      method: 'POST',
      path: '/oauth/token',
      headers: {
        'x-request-id': `token-${i}`,
        authorization: `Basic ${Buffer.from('demo-client:demo-client-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=photos%3Aread',
    }),
  );
  const metadata = Array.from({ length: 8 }, (_, i) =>
    request(port, agent, {
      path: '/.well-known/oauth-authorization-server',
      headers: { 'x-request-id': `metadata-${i}` },
    }),
  );
  const ids = [
    ...logins.map((_, i) => `login-${i}`),
    ...tokens.map((_, i) => `token-${i}`),
    ...metadata.map((_, i) => `metadata-${i}`),
    'slow-upload',
  ];
  const all = [...logins, ...tokens, ...metadata, upload];
  const settled = Promise.allSettled(all);

  // In flight = the service has started on it. (A connection the kernel has queued but the service has not
  // yet accepted is reset when the port closes: that is what SHUTDOWN_DELAY_SECONDS is for, below.)
  const arrived = () => ids.every((id) => service.output().includes(`"reqId":"${id}"`));
  for (const deadline = Date.now() + 60_000; !arrived() && Date.now() < deadline;) await sleep(10);
  t.ok(arrived(), 'every request reached the service');
  const exited = exitOf(service);
  const signalledAt = Date.now();
  service.child.kill('SIGTERM');

  // While the upload is still in progress, the port soon refuses new connections.
  let refusedWhileDraining = false;
  for (const deadline = Date.now() + 10_000; !refusedWhileDraining && Date.now() < deadline;) {
    refusedWhileDraining = await connectionRefused(port);
    if (!refusedWhileDraining) await sleep(20);
  }
  t.ok(refusedWhileDraining, 'new connections refused while in-flight requests finish');
  t.equal(service.child.exitCode, null, 'still running: the upload is not finished');
  releaseUpload();

  const results = await settled;
  const failures = results
    .filter((r) => r.status === 'rejected')
    .map((r) => String((r as PromiseRejectedResult).reason));
  t.same(failures, [], 'no in-flight request failed');
  const answers = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const loginAnswers = answers.slice(0, logins.length);
  t.same(
    loginAnswers.map((a) => a.status),
    loginAnswers.map((_, i) => (i % 2 === 0 ? 303 : 401)),
    'logins: 303 or 401 as usual',
  );
  t.ok(
    answers
      .slice(logins.length, logins.length + tokens.length)
      .every((a) => a.status === 200 && JSON.parse(a.body).token_type === 'Bearer'),
    'tokens issued',
  );
  t.ok(
    answers.slice(logins.length + tokens.length).every((a) => a.status === 200),
    'metadata served',
  );
  const uploaded = answers.at(-1)!;
  t.equal(uploaded.status, 200, 'the upload in progress at the signal got its token');
  t.equal(JSON.parse(uploaded.body).token_type, 'Bearer');
  // The upload was in flight for sure; how many logins still were depends on the machine's speed.
  t.comment(
    `${answers.filter((a) => a.at > signalledAt).length} of ${answers.length} requests answered after the signal`,
  );

  const exit = await exited;
  const lastAnswer = Math.max(...answers.map((a) => a.at));
  t.equal(exit.code, 0, 'exit code 0');
  t.ok(
    exit.at - lastAnswer < 5000,
    `exited ${exit.at - lastAnswer} ms after the last answer (keep-alive connections did not hold it)`,
  );
  t.ok(await connectionRefused(port), 'connections refused after exit');
  t.match(service.output(), /shutting down/);
  t.notMatch(service.output(), /error during shutdown|took too long/);
});

t.test(
  'resource server with SHUTDOWN_DELAY_SECONDS: readiness 503 while draining, still serving, then exit 0',
  async (t) => {
    const port = await freePort();
    const db = await createTestDatabase(
      join(root, 'services', 'resource-server', 'prisma', 'migrations'),
      'shutdown_resource',
    );
    const service = await startService('resource-server', 'services/resource-server', port, {
      ...db.env,
      AUTO_MIGRATE: 'true',
      RESOURCE_ID: `http://localhost:${port}`,
      // Never asked: no token is verified here.
      AUTHORIZATION_SERVER: 'http://localhost:9',
      SHUTDOWN_DELAY_SECONDS: '2',
      LOG_LEVEL: 'info',
    });
    t.teardown(async () => {
      await service.stop();
      await db.drop();
    });
    const agent = new http.Agent({ keepAlive: false });
    t.equal((await request(port, agent, { path: '/readyz' })).status, 200);

    const exited = exitOf(service);
    const signalledAt = Date.now();
    service.child.kill('SIGTERM');
    await sleep(300);
    const ready = await request(port, agent, { path: '/readyz' });
    t.equal(ready.status, 503, 'not ready while draining');
    t.same(JSON.parse(ready.body), { status: 'draining' });
    t.equal((await request(port, agent, { path: '/livez' })).status, 200, 'still alive and serving');
    t.equal((await request(port, agent, { path: '/photos' })).status, 401, 'the API still answers');

    const exit = await exited;
    t.equal(exit.code, 0);
    t.ok(exit.at - signalledAt >= 1900, 'waited for the delay before closing');
    t.ok(await connectionRefused(port));
  },
);

t.test('a bad SHUTDOWN_TIMEOUT_SECONDS stops the start with a message naming it', async (t) => {
  const port = await freePort();
  await t.rejects(
    startService('resource-server', 'services/resource-server', port, {
      SHUTDOWN_TIMEOUT_SECONDS: 'soon',
      AUTHORIZATION_SERVER: 'http://localhost:9',
      DATA_DIR: '/nonexistent-never-opened',
    }),
    /SHUTDOWN_TIMEOUT_SECONDS must be a whole number of seconds/,
  );
});
