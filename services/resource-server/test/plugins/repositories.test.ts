// The storage plugin's life cycle, in whichever mode the suite runs (embedded PGlite, or PostgreSQL with
// TEST_DATABASE_URL): AUTO_MIGRATE + SEED_DEMO_DATA turn a brand-new store into a working one, a second start
// is a no-op, data written before a close is there after re-opening, and a failed start releases the store.
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, realDatabase } from '@quartet/testing';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { FakeAuthorizationServer, MIGRATIONS_DIR, bearer, createDocument, freshStore, testConfig } from '../helper.js';

/** Builds the app with an info-level logger whose messages are collected. */
async function start(config: Config): Promise<{ app: FastifyInstance; logs: string[] }> {
  const logs: string[] = [];
  const stream = { write: (line: string) => void logs.push((JSON.parse(line) as { msg: string }).msg) };
  const app = await buildApp({ ...config, LOG_LEVEL: 'info' }, { logger: { level: 'info', stream } });
  return { app, logs };
}

t.test(
  'a fresh store: AUTO_MIGRATE + SEED_DEMO_DATA make it usable, restarts keep data and change nothing',
  async (t) => {
    const as = await FakeAuthorizationServer.start();
    t.teardown(() => as.stop());
    const env = await freshStore(t);
    const headers = bearer(await as.token());
    const config = testConfig({ ...env, AUTHORIZATION_SERVER: as.issuer });

    // Seeding an unmigrated store fails the start — and the store is released, or the next start could not open it.
    await t.rejects(
      buildApp({ ...config, SEED_DEMO_DATA: true }, { logger: false }),
      { message: /does not exist/ },
      'seeding without a schema fails the start',
    );

    const first = await start({ ...config, AUTO_MIGRATE: true, SEED_DEMO_DATA: true });
    t.teardown(() => first.app.close());
    t.ok(
      first.logs.some((line) => /^applied migrations: \d+_init$/.test(line)),
      'migrations applied at start',
    );
    t.ok(first.logs.includes('demo data in place: 5 photos and 3 documents for alice and bob'));
    t.match(
      first.app.database,
      realDatabase
        ? { embedded: false, description: /^PostgreSQL at 127\.0\.0\.1:\d+\/quartet_rs_fresh_/ }
        : { embedded: true, description: `embedded PostgreSQL (PGlite) in ${config.DATA_DIR}` },
    );
    const photos = await first.app.inject({ method: 'GET', url: '/photos', headers });
    t.equal(photos.statusCode, 200);
    t.equal(photos.json().photos.length, 3, "alice's demo photos");
    const created = await createDocument(t, first.app, headers, {
      title: 'Written before the restart',
      content: 'still here?',
    });
    await first.app.close();

    const second = await start({ ...config, AUTO_MIGRATE: true, SEED_DEMO_DATA: true });
    t.teardown(() => second.app.close());
    t.ok(second.logs.includes('database schema is up to date'), 'nothing to apply the second time');
    const doc = await second.app.inject({ method: 'GET', url: `/documents/${created.id}`, headers });
    t.equal(doc.statusCode, 200, 'data survives a close and re-open');
    t.same(doc.json(), {
      id: created.id,
      title: 'Written before the restart',
      content: 'still here?',
      createdAt: created.createdAt,
    });
    const again = await second.app.inject({ method: 'GET', url: '/photos', headers });
    t.equal(again.json().photos.length, 3, 'seeding again adds no duplicates');
    const docs = await second.app.inject({ method: 'GET', url: '/documents', headers });
    t.equal(docs.json().documents.length, 3, 'two demo documents and the new one');
  },
);

t.test(
  'an embedded database is opened by one process (or app) at a time',
  { skip: realDatabase ? 'embedded mode only: a PostgreSQL server takes many clients' : false },
  async (t) => {
    const db = await createTestDatabase(MIGRATIONS_DIR, 'rs_lock');
    const config = testConfig(db.env);
    const { app } = await start(config);
    t.teardown(async () => {
      await app.close();
      await db.drop();
    });
    await t.rejects(buildApp(config, { logger: false }), { message: /in use by this process \(opened twice\)/ });
    t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'the owner is unaffected');
  },
);
