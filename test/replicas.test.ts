// Several replicas, proven on loopback: two authorization-server processes and two resource-server processes
// share one PostgreSQL and one Redis (the stateless design: codes, login sessions and keys live in the shared
// stores, never in a process). A code issued by one replica is redeemed at the other; a login session made at
// one is honoured at the other; a token from either verifies at both resource servers; and after one
// authorization-server replica is killed (SIGKILL) mid-traffic, the other serves every new request.
// Needs real PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL): the embedded ones live inside a process.
import { join } from 'node:path';
import t from 'tap';
import { createRedisPrefix, createTestDatabase, needsRealDatabase, needsRealRedis } from '@quartet/testing';
import { Browser, authorizationUrl, authorizeAs, pkcePair } from './support/browser.js';
import { freePort, root, startService, type RunningService } from './support/processes.js';
import { startBalancer } from './support/balancer.js';

const skip = needsRealDatabase || needsRealRedis;
if (skip) {
  t.plan(0, skip);
} else {
  await replicas();
}

async function replicas() {
  t.setTimeout(180_000);
  const SECRET = 'replicas-demo-secret';
  const REDIRECT = 'http://127.0.0.1:9/callback';
  const authDb = await createTestDatabase(
    join(root, 'services/authorization-server/prisma/migrations'),
    'replicas_auth',
  );
  const resourceDb = await createTestDatabase(
    join(root, 'services/resource-server/prisma/migrations'),
    'replicas_resource',
  );
  const authRedis = createRedisPrefix('replicas-auth');
  const ports = { a: await freePort(), b: await freePort(), r1: await freePort(), r2: await freePort() };
  // One public issuer in front of both replicas, as behind a Kubernetes Service or load balancer.
  const as = { a: `http://localhost:${ports.a}`, b: `http://localhost:${ports.b}` };
  const balancer = await startBalancer([as.a, as.b]);
  const running: RunningService[] = [];
  t.teardown(async () => {
    await Promise.all(running.map((s) => s.stop()));
    await balancer.close();
    await Promise.all([authDb.drop(), resourceDb.drop(), authRedis.cleanup()]);
  });

  const resourceId = 'http://quartet-resource.test';
  const authEnv = {
    ...authDb.env,
    ...authRedis.env,
    ISSUER: balancer.url,
    RESOURCE_AUDIENCE: resourceId,
    DEMO_CLIENT_SECRET: SECRET,
    DEMO_CLIENT_REDIRECT_URI: REDIRECT,
  };
  // The first replica migrates and seeds; the second starts on the prepared database, as a Deployment's pods do
  // after the migration Job.
  const replicaA = await startService('authorization-server A', 'services/authorization-server', ports.a, {
    ...authEnv,
    AUTO_MIGRATE: 'true',
    SEED_DEMO_DATA: 'true',
  });
  running.push(replicaA);
  running.push(await startService('authorization-server B', 'services/authorization-server', ports.b, authEnv));
  const rsEnv = { ...resourceDb.env, RESOURCE_ID: resourceId, AUTHORIZATION_SERVER: balancer.url };
  running.push(
    await startService('resource-server 1', 'services/resource-server', ports.r1, {
      ...rsEnv,
      AUTO_MIGRATE: 'true',
      SEED_DEMO_DATA: 'true',
    }),
  );
  running.push(await startService('resource-server 2', 'services/resource-server', ports.r2, rsEnv));
  const rs = [`http://localhost:${ports.r1}`, `http://localhost:${ports.r2}`];

  const basic = `Basic ${Buffer.from(`demo-client:${SECRET}`).toString('base64')}`;
  const form = (body: Record<string, string>) => ({
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body),
  });
  const authorizeUrl = (base: string, challenge: string) =>
    authorizationUrl(base, { redirectUri: REDIRECT, challenge, state: 's1' });
  const redeem = async (base: string, code: string, verifier: string) =>
    fetch(
      `${base}/oauth/token`,
      form({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT }),
    );
  const photos = (base: string, token: string) =>
    fetch(`${base}/photos`, { headers: { authorization: `Bearer ${token}` } });

  const browser = new Browser();
  const tokens: Record<string, string> = {};

  await t.test('a code issued by replica A is redeemed at replica B', async (t) => {
    const { verifier, challenge } = pkcePair();
    const callback = new URL(await authorizeAs(browser, authorizeUrl(as.a, challenge), REDIRECT));
    t.equal(callback.searchParams.get('iss'), balancer.url, 'one issuer for both replicas');
    const res = await redeem(as.b, callback.searchParams.get('code')!, verifier);
    t.equal(res.status, 200);
    tokens.fromB = ((await res.json()) as { access_token: string }).access_token;
  });

  await t.test('the login session made at A is honoured at B: no login page, straight back with a code', async (t) => {
    const { verifier, challenge } = pkcePair();
    const first = await browser.request(authorizeUrl(as.b, challenge));
    t.equal(first.status, 303);
    t.match(first.location, new RegExp(`^${REDIRECT}\\?code=`), 'B knew the session and the consent');
    const res = await redeem(as.a, new URL(first.location!).searchParams.get('code')!, verifier);
    t.equal(res.status, 200, 'and A redeems the code B issued');
    tokens.fromA = ((await res.json()) as { access_token: string }).access_token;
  });

  await t.test('a token from either replica verifies at both resource servers', async (t) => {
    for (const [name, token] of Object.entries(tokens)) {
      for (const base of rs) t.equal((await photos(base, token)).status, 200, `token ${name} at ${base}`);
    }
  });

  await t.test('after replica A is killed mid-traffic, B serves every new request', async (t) => {
    let stop = false;
    const before: number[] = [];
    const after: number[] = [];
    const failures: string[] = [];
    let killedAt = Infinity;
    const worker = async () => {
      while (!stop) {
        const startedAt = Date.now();
        let ok: boolean;
        try {
          const res = await fetch(
            `${balancer.url}/oauth/token`,
            form({ grant_type: 'client_credentials', scope: 'photos:read' }),
          );
          ok = res.status === 200;
          const body = (await res.json()) as { access_token?: string };
          if (!ok) failures.push(`token ${res.status} ${JSON.stringify(body)}`);
          // A client token is refused on per-user data (403), but only after its signature verified.
          if (ok) {
            const api = await photos(rs[startedAt % 2]!, body.access_token!);
            ok = api.status === 403;
            if (!ok) failures.push(`api ${api.status} ${api.headers.get('www-authenticate')}`);
          }
        } catch (err) {
          ok = false;
          failures.push(`threw ${(err as Error).message} ${String((err as { cause?: unknown }).cause)}`);
        }
        (startedAt > killedAt ? after : before).push(ok ? 1 : 0);
      }
    };
    const workers = [worker(), worker(), worker()];
    await new Promise((r) => setTimeout(r, 1500));
    const exited = new Promise((r) => replicaA.child.once('exit', r));
    replicaA.child.kill('SIGKILL');
    await exited;
    killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    await Promise.all(workers);
    t.ok(before.length > 10, `${before.length} requests before the kill`);
    t.ok(after.length > 10, `${after.length} requests started after the kill`);
    t.equal(
      after.filter((x) => x === 0).length,
      0,
      `every request started after the kill succeeded ${JSON.stringify([...new Set(failures)].slice(0, 5))}`,
    );
    // Direct to B too, with a user token it issued before.
    t.equal((await photos(rs[0]!, tokens.fromB!)).status, 200);
  });
}
