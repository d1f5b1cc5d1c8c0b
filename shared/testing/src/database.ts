// Each test file gets its own database, migrated with the service's real migration files and removed at
// the end, so tests never see each other's data. Against a real server: a fresh database on it. Embedded:
// a fresh PGlite folder, copied from a per-migration-set template so initdb runs once, not per test.
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migratePostgres, openDatabase } from '@quartet/common';
import { realDatabase } from './backends.js';

/** Server used for test databases (any database on it); only meaningful with TEST_DATABASE_URL. */
export function adminDatabaseUrl(): string {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
  url.pathname = '/postgres';
  return url.toString();
}

/** Drops database `name` on the real test server, if it exists, closing whatever is still connected to it. */
export async function dropServerDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export interface TestDatabase {
  /** What the service under test needs in its environment: DATABASE_URL, or DATA_DIR when embedded. */
  env: { DATABASE_URL: string } | { DATA_DIR: string };
  embedded: boolean;
  /** postgresql://… (real server only). */
  url?: string;
  /** Folder of the embedded database (embedded only). */
  dataDir?: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(migrationsDir: string, label = 'test'): Promise<TestDatabase> {
  const name = `quartet_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  return realDatabase ? createServerDatabase(migrationsDir, name) : createEmbeddedDatabase(migrationsDir, name);
}

/**
 * A new, empty database on the PostgreSQL server (never embedded), for a test whose subject applies the
 * migrations itself (a container's migrate job, the offline migrator); dropped by `drop()`.
 */
export async function createEmptyServerDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `quartet_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  return createServerDatabase(null, name);
}

async function createServerDatabase(migrationsDir: string | null, name: string): Promise<TestDatabase> {
  const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminDatabaseUrl());
  url.pathname = `/${name}`;
  if (migrationsDir !== null) await migratePostgres(url.toString(), migrationsDir);
  return {
    env: { DATABASE_URL: url.toString() },
    embedded: false,
    url: url.toString(),
    name,
    drop: () => dropServerDatabase(name),
  };
}

async function migrationsFingerprint(migrationsDir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const entry of (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()) {
    hash.update(entry).update(await readFile(join(migrationsDir, entry, 'migration.sql')));
  }
  return hash.digest('hex').slice(0, 16);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A migrated, cleanly closed PGlite folder for this set of migrations, built once and then reused. */
async function embeddedTemplate(migrationsDir: string): Promise<string> {
  const template = join(tmpdir(), `quartet-pglite-template-${await migrationsFingerprint(migrationsDir)}`);
  if (await exists(template)) return template;
  // Build beside it and rename into place: rename is atomic, so parallel test files never see half a template.
  const building = `${template}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const db = await openDatabase({ dataDir: building });
  try {
    await db.migrate(migrationsDir);
  } finally {
    await db.close();
  }
  try {
    await rename(building, template);
  } catch {
    await rm(building, { recursive: true, force: true }); // another test file finished first
  }
  return template;
}

async function createEmbeddedDatabase(migrationsDir: string, name: string): Promise<TestDatabase> {
  const template = await embeddedTemplate(migrationsDir);
  const dataDir = join(tmpdir(), 'quartet-test-db', name);
  await mkdir(join(tmpdir(), 'quartet-test-db'), { recursive: true });
  await cp(template, dataDir, { recursive: true });
  return {
    env: { DATA_DIR: dataDir },
    embedded: true,
    dataDir,
    name,
    drop: () => rm(dataDir, { recursive: true, force: true }),
  };
}
