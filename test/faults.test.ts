// Faults on real servers, under traffic: the authorization server's Redis cut, then its PostgreSQL cut
// (each through a TCP proxy the test stops and starts), then the authorization server frozen (SIGSTOP) for
// longer than the resource server's key-cache age. Every answer is what the README promises — 503 with
// Retry-After (or temporarily_unavailable on an /authorize redirect), never a 400, 401 or 500 — and each
// service recovers without a restart. Meanwhile slow clients (an unfinished header, a dribbling body) sit on
// each service's port with the default timeouts, and are cut off within a minute.
// Needs real PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL): the embedded ones live inside a process.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { SignJWT, generateKeyPair } from 'jose';
import { TcpProxy, createRedisPrefix, createTestDatabase, needsRealDatabase, needsRealRedis } from '@quartet/testing';
import { freePort, root, startService, type RunningService } from './support/processes.js';

interface Answer {
  kind: 'token' | 'authorize' | 'api' | 'forged-kid';
  status: number;
  retryAfter: string | null;
  /** The OAuth error (JSON body, or the error parameter of a redirect). */
  error?: string;
  ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects, writes `first`, then one byte a second; resolves with the seconds until the server closed it. */
function slowClient(port: number, first: string): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write(first));
    const timer = setInterval(() => socket.write('a'), 1000);
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve((Date.now() - started) / 1000);
    });
  });
}

async function faults() {
  t.setTimeout(240_000);
  const SECRET = `faults-${randomBytes(16).toString('hex')}`;
  const REDIRECT = 'http://127.0.0.1:9/callback';
  const authDb = await createTestDatabase(join(root, 'services/authorization-server/prisma/migrations'), 'faults_auth');
  const resourceDb = await createTestDatabase(
    join(root, 'services/resource-server/prisma/migrations'),
    'faults_resource',
  );
  const authRedis = createRedisPrefix('faults-auth');
  // Real servers only (see the skip below), so both environments name a URL.
  const authDbUrl = (authDb.env as Record<string, string>).DATABASE_URL!;
  const pgUrl = new URL(authDbUrl);
  const redisUrl = new URL(authRedis.env.REDIS_URL!);
  const pgProxy = new TcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
  const redisProxy = new TcpProxy(redisUrl.hostname, Number(redisUrl.port || 6379));
  await pgProxy.start();
  await redisProxy.start();
  const running: RunningService[] = [];
  t.teardown(async () => {
    for (const s of running) s.child.kill('SIGCONT');
    await Promise.all(running.map((s) => s.stop()));
    await Promise.all([pgProxy.stop(), redisProxy.stop()]);
    await Promise.all([authDb.drop(), resourceDb.drop(), authRedis.cleanup()]);
  });

  const ports = { auth: await freePort(), resource: await freePort(), client: await freePort() };
  const issuer = `http://localhost:${ports.auth}`;
  const resourceId = `http://localhost:${ports.resource}`;
  const auth = await startService('authorization-server', 'services/authorization-server', ports.auth, {
    DATABASE_URL: pgProxy.rewrite(authDbUrl),
    REDIS_URL: redisProxy.rewrite(authRedis.env.REDIS_URL!),
    REDIS_PREFIX: authRedis.env.REDIS_PREFIX!,
    AUTO_MIGRATE: 'true',
    SEED_DEMO_DATA: 'true',
    ISSUER: issuer,
    RESOURCE_AUDIENCE: resourceId,
    DEMO_CLIENT_SECRET: SECRET,
    DEMO_CLIENT_REDIRECT_URI: REDIRECT,
    // Every token request reads the client from PostgreSQL, so its outage shows at once.
    CLIENT_CACHE_TTL: '0',
  });
  running.push(auth);
  const resource = await startService('resource-server', 'services/resource-server', ports.resource, {
    ...resourceDb.env,
    AUTO_MIGRATE: 'true',
    SEED_DEMO_DATA: 'true',
    RESOURCE_ID: resourceId,
    AUTHORIZATION_SERVER: issuer,
    // The key set is past its max age within the freeze below; no request may wait longer than 1 s for the AS.
    JWKS_CACHE_MAX_AGE: '2',
    JWKS_FETCH_TIMEOUT: '1',
  });
  running.push(resource);
  const client = await startService('client-app', 'services/client-app', ports.client, {
    PUBLIC_URL: `http://localhost:${ports.client}`,
    AUTHORIZATION_SERVER: issuer,
    RESOURCE_SERVER: resourceId,
    CLIENT_SECRET: SECRET,
  });
  running.push(client);

  // Slow clients on every service, with the default timeouts (HEADERS_TIMEOUT 10 s, REQUEST_TIMEOUT 30 s),
  // left running through the faults below.
  const slow = Object.entries(ports).flatMap(([name, port]) => [
    {
      name,
      what: 'unfinished header',
      limit: 10,
      closed: slowClient(port, 'GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: '),
    },
    {
      name,
      what: 'dribbling body',
      limit: 30,
      closed: slowClient(
        port,
        'POST /livez HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10000\r\n\r\n',
      ),
    },
  ]);

  const basic = `Basic ${Buffer.from(`demo-client:${SECRET}`).toString('base64')}`;
  const tokenRequest = (body: Record<string, string>) =>
    fetch(`${issuer}/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body),
    });
  const userToken = await (async () => {
    // A user token through the real flow (login + consent), as the client app gets one.
    const { Browser, authorizeAs, authorizationUrl, pkcePair } = await import('./support/browser.js');
    const { verifier, challenge } = pkcePair();
    const url = authorizationUrl(issuer, { redirectUri: REDIRECT, challenge, state: 's' });
    const code = new URL(await authorizeAs(new Browser(), url, REDIRECT)).searchParams.get('code')!;
    const res = await tokenRequest({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
    });
    return ((await res.json()) as { access_token: string }).access_token;
  })();
  // A well-formed token whose kid the authorization server never published: the resource server cannot know
  // it is bad while the authorization server cannot be asked.
  const forged = await (async () => {
    const { privateKey } = await generateKeyPair('ES256');
    return new SignJWT({ client_id: 'demo-client', scope: 'photos:read' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'never-published' })
      .setIssuer(issuer)
      .setAudience(resourceId)
      .setSubject('a11ce000-0000-4000-8000-000000000001')
      .setJti(randomBytes(8).toString('hex'))
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  })();

  let answers: Answer[] = [];
  let stop = false;
  const measure = async (kind: Answer['kind'], call: () => Promise<Response>) => {
    const started = Date.now();
    try {
      const res = await call();
      const retryAfter = res.headers.get('retry-after');
      let error: string | undefined;
      if (res.status === 303)
        error = new URL(res.headers.get('location')!, issuer).searchParams.get('error') ?? undefined;
      else if (res.headers.get('content-type')?.includes('json'))
        error = ((await res.json()) as { error?: string }).error;
      else await res.body?.cancel();
      answers.push({ kind, status: res.status, retryAfter, ...(error ? { error } : {}), ms: Date.now() - started });
    } catch (err) {
      answers.push({ kind, status: 0, retryAfter: null, error: (err as Error).message, ms: Date.now() - started });
    }
  };
  const { authorizationUrl } = await import('./support/browser.js');
  const authorizeUrl = authorizationUrl(issuer, { redirectUri: REDIRECT, challenge: 'c'.repeat(43), state: 's' });
  const worker = async (kind: Answer['kind']) => {
    while (!stop) {
      if (kind === 'token')
        await measure(kind, () => tokenRequest({ grant_type: 'client_credentials', scope: 'photos:read' }));
      if (kind === 'authorize')
        await measure(kind, () => fetch(authorizeUrl, { redirect: 'manual', signal: AbortSignal.timeout(10_000) }));
      if (kind === 'api')
        await measure(kind, () =>
          fetch(`${resourceId}/photos`, {
            headers: { authorization: `Bearer ${userToken}` },
            signal: AbortSignal.timeout(10_000),
          }),
        );
      if (kind === 'forged-kid')
        await measure(kind, () =>
          fetch(`${resourceId}/photos`, {
            headers: { authorization: `Bearer ${forged}` },
            signal: AbortSignal.timeout(10_000),
          }),
        );
      await sleep(50);
    }
  };
  const traffic = (kinds: Answer['kind'][]) => {
    stop = false;
    answers = [];
    const workers = kinds.map(worker);
    return async () => {
      stop = true;
      await Promise.all(workers);
      return answers;
    };
  };
  const byKind = (list: Answer[], kind: Answer['kind']) => list.filter((a) => a.kind === kind);
  const describe = (list: Answer[]) =>
    [...new Set(list.map((a) => `${a.kind} ${a.status} ${a.error ?? ''} ra=${a.retryAfter}`))].join('; ');
  /** During a fault: each answer is a success, or 503 + Retry-After (temporarily_unavailable on a redirect). */
  const onlyUnavailable = (t: Test, list: Answer[], ok: number[]) => {
    const bad = list.filter(
      (a) => !ok.includes(a.status) || (a.status === 303 && a.error && a.error !== 'temporarily_unavailable'),
    );
    const unavailable = list.filter((a) => a.status === 503 || a.error === 'temporarily_unavailable');
    t.same(bad, [], `no 400, 401 or 500 (${describe(list)})`);
    t.ok(
      unavailable.every((a) => a.retryAfter !== null),
      'every 503 carries Retry-After',
    );
    return unavailable.length;
  };
  /** A backend cut after 800 ms of traffic to both servers, and 4 s of traffic with it down: the answers. */
  const cutUnderTraffic = async (proxy: TcpProxy) => {
    const done = traffic(['token', 'authorize', 'api']);
    await sleep(800);
    await proxy.stop();
    await sleep(4000);
    return done();
  };
  /** After a fault: within 15 s, a run of answers with no outage left in it. */
  const recovers = async (t: Test, kinds: Answer['kind'][], label: string) => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const done = traffic(kinds);
      await sleep(1000);
      const list = await done();
      const healthy =
        list.length > 0 &&
        list.every((a) => (a.kind === 'authorize' ? a.status === 303 && !a.error : a.status === 200));
      if (healthy)
        return t.pass(
          `${label}: recovered without a restart (${list.length} requests in the last second all succeeded)`,
        );
      if (Date.now() > deadline) return t.fail(`${label}: not recovered within 15 s: ${describe(list)}`);
    }
  };

  await t.test(
    'Redis cut mid-traffic: 503 + Retry-After (temporarily_unavailable on /authorize), then recovery',
    async (t) => {
      const during = await cutUnderTraffic(redisProxy);
      const unavailable = onlyUnavailable(t, during, [200, 303, 503]);
      t.ok(unavailable > 0, `${unavailable} answers said temporarily unavailable`);
      t.ok(
        byKind(during, 'api').every((a) => a.status === 200),
        "the resource server does not depend on the AS's Redis",
      );
      const ready = await fetch(`${issuer}/readyz`);
      t.equal(ready.status, 503);
      t.ok(ready.headers.get('retry-after'));
      await redisProxy.start();
      await recovers(t, ['token', 'authorize', 'api'], 'Redis back');
    },
  );

  await t.test('PostgreSQL cut mid-traffic: 503 + Retry-After, never a credential error, then recovery', async (t) => {
    const during = await cutUnderTraffic(pgProxy);
    const unavailable = onlyUnavailable(t, during, [200, 303, 503]);
    t.ok(
      byKind(during, 'token').some((a) => a.status === 503),
      'token requests: 503, not invalid_client',
    );
    t.ok(
      byKind(during, 'authorize').some((a) => a.status === 503),
      '/authorize cannot verify the client: a 503 page',
    );
    t.ok(unavailable > 0);
    t.ok(
      byKind(during, 'api').every((a) => a.status === 200),
      'the resource server keeps serving',
    );
    await pgProxy.start();
    await recovers(t, ['token', 'authorize', 'api'], 'PostgreSQL back');
  });

  await t.test(
    'the authorization server frozen longer than the key cache age: the API goes on with the keys it holds',
    async (t) => {
      // The resource server has fetched the key set; let it pass its 2 s max age during the freeze.
      t.equal((await fetch(`${resourceId}/photos`, { headers: { authorization: `Bearer ${userToken}` } })).status, 200);
      auth.child.kill('SIGSTOP');
      // Until its set is past its max age and a refresh has failed, the resource server has no reason to
      // believe the AS is down: an unknown kid within JWKS_COOLDOWN is then invalid_token, as always. After
      // that it knows it cannot ask, and an unknown kid is 503.
      let done = traffic(['api']);
      await sleep(3500);
      const before = await done();
      done = traffic(['api', 'forged-kid']);
      await sleep(2500);
      const during = [...before, ...(await done())];
      auth.child.kill('SIGCONT');
      const api = byKind(during, 'api');
      t.ok(api.length > 20, `${api.length} API calls during the freeze`);
      t.same(
        api.filter((a) => a.status !== 200),
        [],
        'every call with a good token answered 200 (stale-if-error)',
      );
      t.ok(
        Math.max(...api.map((a) => a.ms)) < 1500,
        `none waited for the frozen AS longer than the fetch timeout (max ${Math.max(...api.map((a) => a.ms))} ms)`,
      );
      const unknownKid = byKind(during, 'forged-kid');
      t.ok(unknownKid.length > 0);
      t.same(
        unknownKid.filter((a) => a.status !== 503 || !a.retryAfter),
        [],
        `an unknown kid during the outage: 503 + Retry-After, never 401 (${describe(unknownKid)})`,
      );
      // Recovery: the AS answers again, the unknown kid is refused as invalid once the keys can be fetched.
      await recovers(t, ['token', 'api'], 'AS thawed');
      let refused = 0;
      for (let i = 0; i < 40 && refused !== 401; i++) {
        refused = (await fetch(`${resourceId}/photos`, { headers: { authorization: `Bearer ${forged}` } })).status;
        if (refused !== 401) await sleep(500);
      }
      t.equal(refused, 401, 'with the AS reachable again, the forged kid is invalid_token');
    },
  );

  await t.test('slow clients are cut off within a minute on every service (default timeouts)', async (t) => {
    for (const s of slow) {
      const seconds = await s.closed;
      t.ok(
        seconds >= s.limit - 1 && seconds < 60,
        `${s.name}: ${s.what} closed after ${seconds.toFixed(1)} s (timeout ${s.limit} s)`,
      );
    }
  });
}

const skip = needsRealDatabase || needsRealRedis;
if (skip) t.plan(0, skip);
else await faults();
