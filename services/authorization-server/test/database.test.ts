// Where the data lives: embedded PostgreSQL (PGlite) in DATA_DIR when DATABASE_URL is unset — usable from an
// empty folder with AUTO_MIGRATE and SEED_DEMO_DATA, kept across restarts, one opener at a time — or a server.
// The embedded tests need only Node, so they run in both test modes.
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { adminDatabaseUrl, dropServerDatabase, needsRealDatabase } from '@quartet/testing';
import { buildApp, type App } from '../src/app.js';
import { seedDatabase } from '../src/seed.js';
import { MIGRATIONS_DIR } from '../src/database.js';
import { testConfig } from './helper.js';
import { ALICE_ID, DEMO_REDIRECT, obtainCode, tokenRequest } from './browser.js';

/** Builds apps from a configuration of our own (not a test database), closing them in teardown. */
function builder(t: Test) {
  const apps: App[] = [];
  t.teardown(async () => {
    for (const app of apps) await app.close();
  });
  return async (env: Record<string, string>) => {
    const app = await buildApp(testConfig(env), { logger: false });
    apps.push(app);
    return app;
  };
}

t.test(
  'a fresh DATA_DIR: refused without AUTO_MIGRATE, works with it, and keeps its data across a restart',
  async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'quartet-as-fresh-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const build = builder(t);
    const env = { DATA_DIR: dataDir };

    await t.rejects(
      build(env),
      /no schema yet.*npm run migrate.*AUTO_MIGRATE=true/,
      'clear message on an empty database',
    );

    // The failed start closed the database (else its lock would refuse this opener).
    const first = await build({ ...env, AUTO_MIGRATE: 'true', SEED_DEMO_DATA: 'true' });
    t.equal(first.database.embedded, true);
    t.equal(first.database.description, `embedded PostgreSQL (PGlite) in ${dataDir}`);
    t.equal((await first.inject({ url: '/readyz' })).statusCode, 200);
    t.equal(await first.prisma.user.count(), 2, 'demo users seeded');
    // One opener at a time: `npm run seed` against a running server's folder is refused, clearly.
    await t.rejects(seedDatabase(first.config), /in use by (this process|process \d+)/);

    const { code, verifier } = await obtainCode(first); // alice logs in and consents: rows and sessions written
    const issued = await tokenRequest(
      first,
      { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT },
      { basic: ['demo-client', first.config.DEMO_CLIENT_SECRET] },
    );
    t.equal(issued.statusCode, 200);
    const kid = first.keys.signingKey().kid;
    await first.close();

    // Restart on the same folder, without the start-up chores: everything written before is still there.
    const second = await build(env);
    t.same(
      (await second.consents.grantedScopes(ALICE_ID, 'demo-client', second.config.RESOURCE_AUDIENCE)).sort(),
      ['documents:read', 'photos:read'],
      'consent kept',
    );
    t.equal(second.keys.signingKey().kid, kid, 'signing key kept');
    t.equal(await second.prisma.user.count(), 2);
    const migrations = await second.prisma.$queryRaw<
      Array<{ migration_name: string }>
    >`SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name`;
    const expected = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    t.ok(expected.length >= 2, 'every migration folder');
    t.same(
      migrations.map((m) => m.migration_name),
      expected,
      'recorded like prisma migrate deploy',
    );
    const jwks = createLocalJWKSet((await second.inject({ url: '/.well-known/jwks.json' })).json());
    await t.resolves(
      jwtVerify(issued.json().access_token as string, jwks, {
        issuer: second.config.ISSUER,
        audience: second.config.RESOURCE_AUDIENCE,
      }),
      'a token issued before the restart verifies',
    );
  },
);

t.test(
  'AUTO_MIGRATE on a server creates the database and applies the migrations',
  { skip: needsRealDatabase },
  async (t) => {
    const name = `quartet_as_automigrate_${process.pid}_${Date.now()}`;
    const url = new URL(adminDatabaseUrl());
    url.pathname = `/${name}`;
    t.teardown(() => dropServerDatabase(name));
    const build = builder(t);
    const app = await build({ DATABASE_URL: url.toString(), AUTO_MIGRATE: 'true', SEED_DEMO_DATA: 'true' });
    t.equal(app.database.embedded, false);
    t.match(app.database.description, new RegExp(`^PostgreSQL at .+/${name}$`));
    t.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
    t.equal(await app.prisma.user.count(), 2);
  },
);
