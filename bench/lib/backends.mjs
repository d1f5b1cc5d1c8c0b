// The real PostgreSQL and Redis a run uses: its own databases (quartet_bench_auth_<id>,
// quartet_bench_resource_<id>) and Redis key prefix (quartet:bench:<id>:), a check that both servers answer,
// what they did per request during a measured phase, and the removal of everything the run created.
import pg from 'pg';
import Redis from 'ioredis';

/**
 * BENCH_DATABASE_URL (else TEST_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres) names the
 * server, BENCH_REDIS_URL (else TEST_REDIS_URL, else redis://127.0.0.1:6379) the Redis.
 */
export function benchBackends(runId, env = process.env) {
  const adminUrl = new URL(
    env.BENCH_DATABASE_URL ?? env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  );
  adminUrl.pathname = '/postgres';
  const redisUrl = env.BENCH_REDIS_URL ?? env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const dbNames = { auth: `quartet_bench_auth_${runId}`, resource: `quartet_bench_resource_${runId}` };
  const dbUrl = (name) => Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
  const redisPrefix = `quartet:bench:${runId}:`;

  /** The servers' versions; throws, naming the server, when one is not reachable. */
  async function check() {
    const c = new pg.Client({ connectionString: adminUrl.toString(), connectionTimeoutMillis: 3000 });
    let pgVersion;
    try {
      await c.connect();
      const { rows } = await c.query('SHOW server_version');
      pgVersion = rows[0].server_version;
    } catch (err) {
      throw new Error(
        `PostgreSQL at ${adminUrl.host} is not reachable (${err.message}); the benchmark needs a real server`,
        { cause: err },
      );
    } finally {
      await c.end().catch(() => {});
    }
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 });
    try {
      await redis.connect();
      const info = await redis.info('server');
      return { postgres: pgVersion, redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown' };
    } catch (err) {
      throw new Error(`Redis at ${redisUrl} is not reachable (${err.message}); the benchmark needs a real server`, {
        cause: err,
      });
    } finally {
      redis.disconnect();
    }
  }

  /** Drops the run's databases and deletes its Redis keys; reports (through `log`) what it could not remove. */
  async function remove(log) {
    const c = new pg.Client({ connectionString: adminUrl.toString() });
    try {
      await c.connect();
      for (const name of Object.values(dbNames)) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } catch (err) {
      log(`could not drop the bench databases: ${err.message}`);
    } finally {
      await c.end().catch(() => {});
    }
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } catch (err) {
      log(`could not remove the bench Redis keys: ${err.message}`);
    } finally {
      redis.disconnect();
    }
  }

  /**
   * What the backends did per completed request during a measured phase: PostgreSQL transactions and rows
   * written per bench database (pg_stat_database; a statement outside BEGIN counts as one transaction) and
   * Redis commands (INFO stats; server-wide, so other clients of the same Redis inflate it). PostgreSQL 15
   * backends publish their counters about once a second while busy (and only after 10 s when idle), so the
   * snapshots are taken straight after the warm-up and straight after the run: the unpublished tails of the
   * two roughly cancel, and the PostgreSQL figures are approximate (±10 % on a 10 s run); Redis's are exact.
   */
  async function counters() {
    const pgc = new pg.Client({ connectionString: adminUrl.toString() });
    await pgc.connect();
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    const snapshot = async () => {
      const { rows } = await pgc.query(
        'SELECT datname, xact_commit + xact_rollback AS xacts, tup_inserted + tup_updated + tup_deleted AS written FROM pg_stat_database WHERE datname = ANY($1)',
        [Object.values(dbNames)],
      );
      const info = await redis.info('stats');
      return {
        pg: Object.fromEntries(rows.map((r) => [r.datname, { xacts: Number(r.xacts), written: Number(r.written) }])),
        redis: Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN),
      };
    };
    const per = (a, b, n) => (n ? Math.round(((b - a) / n) * 100) / 100 : null);
    return {
      before: snapshot,
      async after(before, requests) {
        const now = await snapshot();
        const db = (label, name) => ({
          [`pgTransactions_${label}`]: per(before.pg[name]?.xacts, now.pg[name]?.xacts, requests),
          [`pgRowsWritten_${label}`]: per(before.pg[name]?.written, now.pg[name]?.written, requests),
        });
        return {
          ...db('auth', dbNames.auth),
          ...db('resource', dbNames.resource),
          redisCommands: per(before.redis, now.redis, requests),
        };
      },
      async close() {
        await pgc.end().catch(() => {});
        redis.disconnect();
      },
    };
  }

  return { adminUrl, redisUrl, dbNames, dbUrl, redisPrefix, check, remove, counters };
}
