// Starts Quartet's services for a root test as real processes on free loopback ports, each on its own fresh
// database and Redis prefix (real servers when TEST_DATABASE_URL / TEST_REDIS_URL are set, else embedded),
// wired to each other by the topology `npm start` uses (scripts/lib/topology.mjs), and stops and removes everything in teardown.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createRedisPrefix, createTestDatabase, describeTestBackends } from '@quartet/testing';
import { topology } from '../../scripts/lib/topology.mjs';
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
): Promise<{
  urls: StackUrls;
  services: RunningService[];
  startClient: (settings: Record<string, string>) => Promise<RunningService>;
}> {
  const ports = { auth: await freePort(), resource: await freePort(), client: await freePort() };
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
  const { urls, env } = topology(ports, { traceSecret: randomBytes(32).toString('base64url') });
  const prepare = { AUTO_MIGRATE: 'true', SEED_DEMO_DATA: 'true' };
  const starting = [
    startService('authorization-server', 'services/authorization-server', ports.auth, {
      ...authDb.env,
      ...authRedis.env,
      ...prepare,
      ...env.auth,
      ...options.auth?.(urls),
    }),
    startService('resource-server', 'services/resource-server', ports.resource, {
      ...resourceDb.env,
      ...prepare,
      ...env.resource,
      ...options.resource?.(urls),
    }),
  ];
  const client = (settings: Record<string, string>) =>
    startService('client-app', 'services/client-app', ports.client, { ...clientRedis.env, ...env.client, ...settings });
  if (options.client !== false) starting.push(client(options.client?.(urls) ?? {}));
  // Keep whatever did start, so teardown stops it even when another service failed.
  const results = await Promise.allSettled(starting);
  for (const r of results) if (r.status === 'fulfilled') services.push(r.value);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  /** `client: false`: starts the client app now (at urls.client), once what it needs is registered. */
  const startClient = async (settings: Record<string, string>) => {
    const service = await client(settings);
    services.push(service);
    return service;
  };
  return { urls, services, startClient };
}
