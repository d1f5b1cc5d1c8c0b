// Builds the authorization server for a test on a fresh database (migrated with the real migration files)
// and a private key-value store; everything is closed and removed in teardown. The backends follow
// @quartet/testing: real PostgreSQL / Redis when TEST_DATABASE_URL / TEST_REDIS_URL are set, else embedded
// PGlite (a fresh folder) and the in-process store — the same tests run on both.
import { createRedisPrefix, createTestDatabase, type TestDatabase } from '@quartet/testing';
import { readConfig, type Config } from '../src/config.js';
import { buildApp, type App, type BuildOptions } from '../src/app.js';
import { MIGRATIONS_DIR } from '../src/database.js';

export { MIGRATIONS_DIR };

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestEnvironment {
  /** The configuration apps of this environment get (before per-build overrides). */
  config: Config;
  database: TestDatabase;
  /** DATABASE_URL or DATA_DIR, and REDIS_URL/REDIS_PREFIX when a real Redis is used. */
  backendEnv: Record<string, string>;
  /**
   * Builds an app on this environment's database and store (closed in teardown). Embedded, a database
   * folder has one opener at a time: close an app before building the next one on the same environment.
   */
  build(env?: Record<string, string>, options?: BuildOptions): Promise<App>;
}

/**
 * Test configuration: a low scrypt cost keeps the suite fast (the default stays secure), and no client
 * cache, so tests that edit a client see the edit at once (test/plugins/client-cache.test.ts covers the
 * cache). Built from `env` only, never process.env, so a DATABASE_URL in the shell cannot point a test at a
 * real database, and DATA_DIR never falls back to the repository's data/ folder unless a test asks for it.
 */
export function testConfig(env: Record<string, string> = {}): Config {
  return readConfig({ PASSWORD_SCRYPT_N: '1024', CLIENT_CACHE_TTL: '0', LOG_LEVEL: 'silent', ...env });
}

/**
 * A fresh database and store prefix. With `seed` (the default) every app built on it runs the demo seed at
 * start (SEED_DEMO_DATA, the code path `npm start` uses; idempotent), which costs no extra database opening.
 */
export async function createEnvironment(t: Teardown, options: { seed?: boolean } = {}): Promise<TestEnvironment> {
  const database = await createTestDatabase(MIGRATIONS_DIR, 'as');
  const redis = createRedisPrefix('as');
  const apps: App[] = [];
  t.teardown(async () => {
    for (const app of apps) await app.close();
    await redis.cleanup();
    await database.drop();
  });
  const backendEnv: Record<string, string> = { ...database.env, ...redis.env };
  const seedEnv: Record<string, string> = (options.seed ?? true) ? { SEED_DEMO_DATA: 'true' } : {};
  return {
    config: testConfig({ ...backendEnv, ...seedEnv }),
    database,
    backendEnv,
    async build(env = {}, buildOptions = {}) {
      const app = await buildApp(testConfig({ ...backendEnv, ...seedEnv, ...env }), { logger: false, ...buildOptions });
      apps.push(app);
      return app;
    },
  };
}

/** One seeded environment and one app. */
export async function buildTestApp(
  t: Teardown,
  env: Record<string, string> = {},
): Promise<{ app: App; config: Config; environment: TestEnvironment }> {
  const environment = await createEnvironment(t);
  const app = await environment.build(env);
  return { app, config: app.config, environment };
}
