// Builds the authorization server for a test against a fresh PostgreSQL database (migrated with the real
// migration files, seeded with the demo data) and a private Redis key prefix; everything is closed and
// removed in teardown.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRedisPrefix, createTestDatabase, testRedisUrl } from '@quartet/testing';
import { readConfig, type Config } from '../src/config.js';
import { buildApp, type App } from '../src/app.js';
import { seedDatabase } from '../src/seed.js';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../prisma/migrations');

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestEnvironment {
  config: Config;
  databaseUrl: string;
  /** Builds an app on this environment's database and Redis prefix (closed in teardown). */
  build(env?: Record<string, string>): Promise<App>;
}

/** Test configuration: a low scrypt cost keeps the suite fast (the default stays secure). */
export function testConfig(env: Record<string, string> = {}): Config {
  return readConfig({ REDIS_URL: testRedisUrl(), PASSWORD_SCRYPT_N: '1024', LOG_LEVEL: 'silent', ...env });
}

export async function createEnvironment(t: Teardown, options: { seed?: boolean } = {}): Promise<TestEnvironment> {
  const db = await createTestDatabase(MIGRATIONS_DIR, 'as');
  const redis = createRedisPrefix('as');
  const apps: App[] = [];
  const config = testConfig({ DATABASE_URL: db.url, REDIS_PREFIX: redis.prefix });
  t.teardown(async () => {
    for (const app of apps) await app.close();
    await redis.cleanup();
    await db.drop();
  });
  if (options.seed ?? true) await seedDatabase(config);
  return {
    config,
    databaseUrl: db.url,
    async build(env = {}) {
      const app = await buildApp(testConfig({ DATABASE_URL: db.url, REDIS_PREFIX: redis.prefix, ...env }), { logger: false });
      apps.push(app);
      return app;
    },
  };
}

/** One seeded environment and one app. */
export async function buildTestApp(t: Teardown, env: Record<string, string> = {}): Promise<{ app: App; config: Config; environment: TestEnvironment }> {
  const environment = await createEnvironment(t);
  const app = await environment.build(env);
  return { app, config: app.config, environment };
}
