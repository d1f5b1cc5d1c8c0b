// Where a service's PostgreSQL lives. With DATABASE_URL set: a real server through @prisma/adapter-pg.
// Without it: an embedded PostgreSQL (PGlite, Postgres compiled to WebAssembly) whose files live in a data
// folder, so a laptop with only Node.js runs the same schema, migrations, repositories and SQL.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrismaPg } from '@prisma/adapter-pg';
import type { PrismaPGlite } from 'pglite-prisma-adapter';
import { applyMigrations, ensureDatabase, migratePostgres, type SqlRunner } from './migrate.js';

export interface DatabaseHandle {
  /** Pass to `new PrismaClient({ adapter })`. */
  readonly adapter: PrismaPg | PrismaPGlite;
  readonly embedded: boolean;
  /** For the start-up log: which backend, where (never credentials). */
  readonly description: string;
  /** Applies pending migrations from a prisma/migrations folder; returns the names applied. */
  migrate(migrationsDir: string): Promise<string[]>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgresql://… of a real server; unset means embedded. */
  databaseUrl?: string | undefined;
  /** Folder of the embedded database (used only without databaseUrl). */
  dataDir: string;
  /** Real server only: told when an idle pooled connection drops (e.g. a database restart); the pool reconnects on demand. */
  onPoolError?: ((err: Error) => void) | undefined;
}

export function describePostgresUrl(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  return `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}`;
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.onPoolError);
  return openEmbedded(options.dataDir);
}

// The adapters are imported when needed: PGlite alone costs about half a second of start-up, which a
// service on a real server (or one without a database that imports this package) should not pay.
async function openPostgres(databaseUrl: string, onPoolError?: (err: Error) => void): Promise<DatabaseHandle> {
  const { PrismaPg } = await import('@prisma/adapter-pg');
  return {
    // pg waits forever for a connection by default; a bounded wait lets an outage answer 503 promptly.
    adapter: new PrismaPg(
      { connectionString: databaseUrl, connectionTimeoutMillis: 2000, idleTimeoutMillis: 10_000 },
      onPoolError ? { onPoolError } : undefined,
    ),
    embedded: false,
    description: describePostgresUrl(databaseUrl),
    async migrate(migrationsDir) {
      await ensureDatabase(databaseUrl);
      return migratePostgres(databaseUrl, migrationsDir);
    },
    async close() {},
  };
}

const LOCK_FILE = 'quartet.lock';

/**
 * PGlite keeps its files in one folder and must be opened by one process at a time; a second process
 * writing the same files would corrupt them. A lock file with the owner's pid makes that a clear error.
 */
async function acquireLock(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (pid && processAlive(pid)) {
        const owner = pid === process.pid ? 'this process (opened twice)' : `process ${pid}; stop it first`;
        throw new Error(
          `The embedded database in ${dataDir} is in use by ${owner} (or set DATABASE_URL to use a PostgreSQL server).`,
          { cause: err },
        );
      }
      // Left behind by a process that no longer runs (killed, crashed): take it over.
      await rm(path, { force: true });
    }
  }
  throw new Error(`Could not lock the embedded database in ${dataDir}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function openEmbedded(dataDir: string): Promise<DatabaseHandle> {
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('pglite-prisma-adapter'),
  ]);
  await mkdir(dataDir, { recursive: true });
  const release = await acquireLock(dataDir);
  let pglite: InstanceType<typeof PGlite>;
  try {
    pglite = await PGlite.create(join(dataDir, 'pgdata'));
  } catch (err) {
    await release();
    throw err;
  }
  const runner: SqlRunner = {
    query: async (sql, params) => pglite.query(sql, params),
    exec: (sql) => pglite.exec(sql),
  };
  let closed = false;
  return {
    adapter: new PrismaPGlite(pglite),
    embedded: true,
    description: `embedded PostgreSQL (PGlite) in ${dataDir}`,
    // One process owns the folder (the lock above), so Prisma's advisory lock is not needed.
    migrate: (migrationsDir) => applyMigrations(runner, migrationsDir, { lock: false }),
    async close() {
      if (closed) return;
      closed = true;
      await pglite.close();
      await release();
    },
  };
}

export interface PrismaDatabase<P> {
  prisma: P;
  /** Which backend and where (for logs), and migrate() for the service's own migrations folder. */
  handle: DatabaseHandle;
  /** Disconnects Prisma, then closes the handle (PGlite must be closed cleanly or recent writes may be lost). */
  close(): Promise<void>;
}

/**
 * Opens the database and a service's own Prisma client on it (each service generates its own client type,
 * hence the factory). An embedded database stays locked to this process until close().
 */
export async function openPrismaDatabase<P extends { $disconnect(): Promise<void> }>(
  options: DatabaseOptions,
  createClient: (adapter: DatabaseHandle['adapter']) => P,
): Promise<PrismaDatabase<P>> {
  const handle = await openDatabase(options);
  const prisma = createClient(handle.adapter);
  let closed = false;
  return {
    prisma,
    handle,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await prisma.$disconnect();
      } finally {
        await handle.close();
      }
    },
  };
}
