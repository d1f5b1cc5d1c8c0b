// Which backends the tests run against. With TEST_DATABASE_URL / TEST_REDIS_URL set, the real servers
// (CI sets both); without them, the embedded ones the services use on a machine with only Node.js:
// PGlite in a temporary folder and the in-process key-value store.

export const realDatabase = Boolean(process.env.TEST_DATABASE_URL);
export const realRedis = Boolean(process.env.TEST_REDIS_URL);

/**
 * tap `skip` values for tests that only make sense against a real server: `false` to run, or the reason
 * shown in the test output when skipped.
 */
export const needsRealRedis: false | string = realRedis
  ? false
  : 'needs a real Redis server (set TEST_REDIS_URL); this run uses the in-process store';
export const needsRealDatabase: false | string = realDatabase
  ? false
  : 'needs a real PostgreSQL server (set TEST_DATABASE_URL); this run uses embedded PGlite';

export function describeTestBackends(): string {
  return `${realDatabase ? 'PostgreSQL' : 'embedded PGlite'} + ${realRedis ? 'Redis' : 'in-process store'}`;
}

/** WORKSHOP_TRACE_SECRET for tests that run workshop mode (the services require one when it is on). */
export const TEST_TRACE_SECRET = 'quartet-test-workshop-trace-secret-0123456789';
