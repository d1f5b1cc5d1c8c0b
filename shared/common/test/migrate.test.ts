import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import t, { type Test } from 'tap';
import { createTestDatabase, needsRealDatabase, type TestDatabase } from '@quartet/testing';
import { ensureDatabase, migratePostgres, openDatabase } from '../src/index.js';

const fixtures = join(import.meta.dirname, 'fixtures', 'migrations');

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

/** A copy of the fixture migrations (to edit) and a fresh database they are applied to; both removed at the end. */
async function migratedCopy(t: Test): Promise<{ dir: string; db: TestDatabase }> {
  const dir = await mkdtemp(join(tmpdir(), 'quartet-mig-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await cp(fixtures, dir, { recursive: true });
  const db = await createTestDatabase(dir, 'migrate');
  t.teardown(() => db.drop());
  return { dir, db };
}

t.test(
  'applies pending migrations once and records them like prisma migrate deploy',
  { skip: needsRealDatabase },
  async (t) => {
    const empty = await mkdtemp(join(tmpdir(), 'quartet-mig-'));
    t.teardown(() => rm(empty, { recursive: true, force: true }));
    const db = await createTestDatabase(empty, 'migrate');
    t.teardown(() => db.drop());

    t.same(await migratePostgres(db.url!, fixtures), ['20260101000000_one', '20260102000000_two']);
    t.same(await migratePostgres(db.url!, fixtures), [], 'second run applies nothing');
    const rows = await query(
      db.url!,
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    );
    t.equal(rows.length, 2);
    t.match(rows[0], { migration_name: '20260101000000_one', applied_steps_count: 1 });
    t.match(String(rows[0]?.checksum), /^[0-9a-f]{64}$/, 'sha-256 checksum as Prisma stores it');
    t.ok(rows[0]?.finished_at);
    const cols = await query(
      db.url!,
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'things' ORDER BY column_name`,
    );
    t.same(
      cols.map((c) => c.column_name),
      ['colour', 'id', 'name'],
    );
  },
);

t.test('refuses a migration that was edited after it was applied', { skip: needsRealDatabase }, async (t) => {
  const { dir, db } = await migratedCopy(t);
  await writeFile(join(dir, '20260101000000_one', 'migration.sql'), '-- edited\nSELECT 1;');
  await t.rejects(migratePostgres(db.url!, dir), /was changed after it was applied/);
});

t.test('a failing migration is rolled back and not recorded', { skip: needsRealDatabase }, async (t) => {
  const { dir, db } = await migratedCopy(t);
  await cp(join(dir, '20260102000000_two'), join(dir, '20260103000000_bad'), { recursive: true });
  await writeFile(
    join(dir, '20260103000000_bad', 'migration.sql'),
    'CREATE TABLE "ok_part" (id int);\nSELECT * FROM no_such_table;',
  );
  await t.rejects(migratePostgres(db.url!, dir), /20260103000000_bad failed/);
  const rows = await query(
    db.url!,
    `SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE migration_name = '20260103000000_bad'`,
  );
  t.equal(rows[0]?.n, 0);
  const tables = await query(
    db.url!,
    `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'ok_part'`,
  );
  t.equal(tables[0]?.n, 0, 'partial work of the failed migration was rolled back');
});

t.test('ensureDatabase creates a missing database once', { skip: needsRealDatabase }, async (t) => {
  const name = `quartet_ensure_${Date.now().toString(36)}`;
  const url = `postgresql://postgres@127.0.0.1:5432/${name}`;
  t.teardown(() =>
    query('postgresql://postgres@127.0.0.1:5432/postgres', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  );
  t.equal(await ensureDatabase(url), true);
  t.equal(await ensureDatabase(url), false);
  await t.rejects(ensureDatabase('postgresql://postgres@127.0.0.1:5432/bad-name;drop'), /unusual name/);
});

t.test('embedded PGlite: the same migrations apply, are recorded, and persist across a reopen', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'quartet-pglite-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const db = await openDatabase({ dataDir });
  t.equal(db.embedded, true);
  t.match(db.description, new RegExp(`embedded PostgreSQL \\(PGlite\\) in ${dataDir}`));
  t.same(await db.migrate(fixtures), ['20260101000000_one', '20260102000000_two']);
  await t.rejects(
    openDatabase({ dataDir }),
    /in use by this process/,
    'a second opener is refused while the first holds it',
  );
  await db.close();
  const again = await openDatabase({ dataDir });
  t.teardown(() => again.close());
  t.same(await again.migrate(fixtures), [], 'already applied: recorded in _prisma_migrations on disk');
});
