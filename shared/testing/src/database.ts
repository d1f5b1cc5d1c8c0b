// Each test file gets its own PostgreSQL database, migrated with the service's real migration files,
// and dropped at the end, so tests never see each other's data.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migratePostgres } from '@quartet/common';

/** Server used for test databases. Override with TEST_DATABASE_URL (any database on the server). */
export function adminDatabaseUrl(): string {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
  url.pathname = '/postgres';
  return url.toString();
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(migrationsDir: string, label = 'test'): Promise<TestDatabase> {
  const name = `quartet_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminDatabaseUrl());
  url.pathname = `/${name}`;
  await migratePostgres(url.toString(), migrationsDir);
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: adminDatabaseUrl() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
