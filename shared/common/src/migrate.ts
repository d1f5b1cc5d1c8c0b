// Applies the SQL migrations in a service's prisma/migrations folder without Prisma's schema engine
// (which cannot be downloaded on our machines), recording each one in _prisma_migrations exactly as
// `prisma migrate deploy` does, so the two can be used on the same database interchangeably.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';

/** The little SQL surface the migrator needs; a pg client or PGlite both provide it. */
export interface SqlRunner {
  query<R extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
  /** Runs a script that may hold several statements. */
  exec(sql: string): Promise<unknown>;
}

// Prisma's own table definition (see prisma-engines, migration-connector sql) so `migrate deploy` accepts it.
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;
// The advisory lock key Prisma Migrate takes, so a concurrent `prisma migrate deploy` waits for us and vice versa.
const PRISMA_LOCK_KEY = 72707369;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export async function readMigrations(dir: string): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Applies pending migrations in name order; returns the names applied. Idempotent. */
export async function applyMigrations(
  db: SqlRunner,
  migrationsDir: string,
  options: { lock?: boolean } = {},
): Promise<string[]> {
  const lock = options.lock ?? true;
  const migrations = await readMigrations(migrationsDir);
  if (lock) await db.query('SELECT pg_advisory_lock($1)', [PRISMA_LOCK_KEY]);
  try {
    await db.exec(CREATE_TABLE);
    const { rows } = await db.query<AppliedRow>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"',
    );
    const applied = new Map<string, AppliedRow>();
    for (const row of rows) {
      if (row.rolled_back_at) continue;
      if (!row.finished_at) {
        throw new Error(
          `Migration ${row.migration_name} failed earlier and was never resolved; fix the database, then run \`prisma migrate resolve\`.`,
        );
      }
      applied.set(row.migration_name, row);
    }
    const done: string[] = [];
    for (const m of migrations) {
      const prior = applied.get(m.name);
      if (prior) {
        if (prior.checksum !== m.checksum) {
          throw new Error(
            `Migration ${m.name} was changed after it was applied (checksum differs); add a new migration instead.`,
          );
        }
        continue;
      }
      await db.exec('BEGIN');
      try {
        await db.exec(m.sql);
        await db.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
           VALUES ($1, $2, $3, now(), now(), 1)`,
          [randomUUID(), m.checksum, m.name],
        );
        await db.exec('COMMIT');
      } catch (err) {
        await db.exec('ROLLBACK');
        throw new Error(`Migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      done.push(m.name);
    }
    return done;
  } finally {
    if (lock) await db.query('SELECT pg_advisory_unlock($1)', [PRISMA_LOCK_KEY]);
  }
}

/** Connects to a PostgreSQL server, applies pending migrations and disconnects. */
export async function migratePostgres(databaseUrl: string, migrationsDir: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const runner: SqlRunner = {
      query: async (sql, params) => client.query(sql, params as unknown[]),
      exec: (sql) => client.query(sql),
    };
    return await applyMigrations(runner, migrationsDir);
  } finally {
    await client.end();
  }
}

/** Creates the database named in `databaseUrl` if it does not exist (connecting to the `postgres` database). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`Refusing to create database with unusual name "${name}"`);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE "${name}"`);
    return true;
  } catch (err) {
    // Two processes racing to create it: the loser sees duplicate_database (42P04), which is fine.
    if ((err as { code?: string }).code === '42P04') return false;
    throw err;
  } finally {
    await client.end();
  }
}
