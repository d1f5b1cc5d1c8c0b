// Starts Quartet's services for a root test as real processes on free loopback ports, each on its own fresh
// database and Redis prefix (real servers when TEST_DATABASE_URL / TEST_REDIS_URL are set, else embedded),
// wired to each other the way `npm start` wires them, and stops and removes everything in teardown.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createRedisPrefix, createTestDatabase, describeTestBackends } from '@quartet/testing';
import { freePort, root, startService, type RunningService } from './processes.js';

interface Teardown {
  teardown(fn: () => unknown): void;
  comment(...args: unknown[]): void;
}

export interface StackUrls {
  auth: string;
  resource: string;
  client: string;
}

export interface StackOptions {
  /** Names the databases and prefixes (for finding leftovers). */
  name: string;
  /** Extra settings per service, given the URLs; `client: false` leaves the client app out. */
  auth?: (urls: StackUrls) => Record<string, string>;
  resource?: (urls: StackUrls) => Record<string, string>;
  client?: false | ((urls: StackUrls) => Record<string, string>);
}

export async function startStack(
  t: Teardown,
  options: StackOptions,
): Promise<{ urls: StackUrls; services: RunningService[] }> {
  const [authPort, resourcePort, clientPort] = [await freePort(), await freePort(), await freePort()];
  const urls = {
    auth: `http://localhost:${authPort}`,
    resource: `http://localhost:${resourcePort}`,
    client: `http://localhost:${clientPort}`,
  };
  const migrations = (service: string) => join(root, 'services', service, 'prisma', 'migrations');
  const authDb = await createTestDatabase(migrations('authorization-server'), `${options.name}_auth`);
  const resourceDb = await createTestDatabase(migrations('resource-server'), `${options.name}_resource`);
  const authRedis = createRedisPrefix(`${options.name}-auth`);
  const clientRedis = createRedisPrefix(`${options.name}-client`);
  const services: RunningService[] = [];
  t.teardown(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await Promise.all([authDb.drop(), resourceDb.drop(), authRedis.cleanup(), clientRedis.cleanup()]);
  });
  t.comment(`backends: ${describeTestBackends()}`);

  // The services migrate and seed their own data at start, as under `npm start`, and share a trace key for
  // workshop mode (read only when a test turns WORKSHOP_MODE on).
  const prepare = {
    AUTO_MIGRATE: 'true',
    SEED_DEMO_DATA: 'true',
    WORKSHOP_TRACE_SECRET: randomBytes(32).toString('base64url'),
  };
  const starting = [
    startService('authorization-server', 'services/authorization-server', authPort, {
      ...authDb.env,
      ...authRedis.env,
      ...prepare,
      ISSUER: urls.auth,
      RESOURCE_AUDIENCE: urls.resource,
      DEMO_CLIENT_REDIRECT_URI: `${urls.client}/callback`,
      ...options.auth?.(urls),
    }),
    startService('resource-server', 'services/resource-server', resourcePort, {
      ...resourceDb.env,
      ...prepare,
      RESOURCE_ID: urls.resource,
      AUTHORIZATION_SERVER: urls.auth,
      ...options.resource?.(urls),
    }),
  ];
  if (options.client !== false) {
    starting.push(
      startService('client-app', 'services/client-app', clientPort, {
        ...clientRedis.env,
        WORKSHOP_TRACE_SECRET: prepare.WORKSHOP_TRACE_SECRET,
        PUBLIC_URL: urls.client,
        AUTHORIZATION_SERVER: urls.auth,
        RESOURCE_SERVER: urls.resource,
        ...options.client?.(urls),
      }),
    );
  }
  // Keep whatever did start, so teardown stops it even when another service failed.
  const results = await Promise.allSettled(starting);
  for (const r of results) if (r.status === 'fulfilled') services.push(r.value);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return { urls, services };
}
