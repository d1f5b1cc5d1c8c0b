// Resource server configuration: an env schema checked at start. A bad or missing value stops the process
// with a message naming the variable (the contract's variable names and defaults are fixed in CONTEXT.md).
//
// Production is told apart by the resource identifier: an https RESOURCE_ID means real users reach us, so the
// authorization server must then be reached over https too — its metadata and JWKS are the trust anchor for
// every token we accept (RFC 8414 §3, RFC 8725 §3.1), and fetching them over plain http would let anyone on
// the path substitute their own keys.
//
// Storage: DATABASE_URL set means that PostgreSQL server; unset (or empty) means an embedded PostgreSQL
// (PGlite) in DATA_DIR, so the service runs on a machine with only Node.js. Same migrations, same SQL.
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, isProduction, loadConfig as loadEnv } from '@quartet/common';
import { DEFAULT_DATA_DIR } from './paths.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `<repo root>/data/resource-server` (src/paths.ts): the same folder whatever the cwd. */
export { DEFAULT_DATA_DIR };

// Env values are strings; a flag is spelled true/false or 1/0 and anything else is a typo worth stopping for
// (checked in loadConfig, where the message can say what is accepted).
const Flag = Type.String({ default: 'false' });
function flag(name: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(`Invalid configuration: ${name} must be true, false, 1 or 0 (got "${value}")`);
}

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 9100 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  RESOURCE_ID: Type.String({ minLength: 1, default: 'http://localhost:9100' }),
  AUTHORIZATION_SERVER: Type.String({ minLength: 1, default: 'http://localhost:9000' }),
  // No default: unset means the embedded database in DATA_DIR.
  DATABASE_URL: Type.Optional(Type.String()),
  DATA_DIR: Type.String({ minLength: 1, default: DEFAULT_DATA_DIR }),
  // Apply pending migrations / the idempotent demo seed at start (the root `npm start` sets both).
  AUTO_MIGRATE: Flag,
  SEED_DEMO_DATA: Flag,
  // Workshop mode: record the steps of requests that carry a W3C traceparent; serve them at
  // GET /workshop/traces/:traceId (per process, in memory). For demonstrations only.
  WORKSHOP_MODE: Flag,
  // Seconds of clock skew accepted on exp/nbf (RFC 8725 §3.10 leaves this to the RS); large values defeat expiry.
  CLOCK_TOLERANCE: Type.Integer({ minimum: 0, maximum: 300, default: 5 }),
  LOG_LEVEL: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), { default: 'info' }),
});

export interface Config {
  port: number;
  host: string;
  /** Our identifier: the `aud` every accepted access token must contain (RFC 9068 §4). */
  resourceId: string;
  /** The issuer we trust; its metadata is at `${authorizationServer}/.well-known/oauth-authorization-server`. */
  authorizationServer: string;
  /** postgresql://… of a real server; undefined means the embedded PostgreSQL (PGlite) in `dataDir`. */
  databaseUrl: string | undefined;
  /** Absolute folder of the embedded database (unused when `databaseUrl` is set). */
  dataDir: string;
  /** Apply pending migrations from prisma/migrations at start. */
  autoMigrate: boolean;
  /** Upsert the demo photos and documents at start (after migrating). */
  seedDemoData: boolean;
  /** Seconds. */
  clockTolerance: number;
  /** WORKSHOP_MODE: trace steps per W3C traceparent, served at GET /workshop/traces/:traceId. */
  workshopMode: boolean;
  logLevel: Static<typeof ConfigSchema>['LOG_LEVEL'];
  production: boolean;
}

/** Throws ConfigError naming `name` unless `value` is an absolute http(s) URL without query or fragment. */
function checkHttpUrl(name: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`Invalid configuration: ${name} must be an absolute URL (got "${value}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`Invalid configuration: ${name} must be an http or https URL (got "${value}")`);
  }
  // An issuer identifier has no query or fragment (RFC 8414 §2); the same holds for our resource identifier,
  // which is compared byte for byte against `aud`.
  if (url.search || url.hash || value.includes('#') || value.includes('?')) {
    throw new ConfigError(`Invalid configuration: ${name} must not contain a query or fragment (got "${value}")`);
  }
  return url;
}

function checkPostgresUrl(value: string): void {
  let db: URL;
  try {
    db = new URL(value);
  } catch {
    throw new ConfigError('Invalid configuration: DATABASE_URL must be a postgresql:// URL (or unset for the embedded database)');
  }
  if (db.protocol !== 'postgresql:' && db.protocol !== 'postgres:') {
    throw new ConfigError('Invalid configuration: DATABASE_URL must be a postgresql:// URL (or unset for the embedded database)');
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = loadEnv(ConfigSchema, env);
  checkHttpUrl('RESOURCE_ID', raw.RESOURCE_ID);
  checkHttpUrl('AUTHORIZATION_SERVER', raw.AUTHORIZATION_SERVER);
  // `DATABASE_URL=` (empty) is how a shell unsets a variable for one command: treat it as unset.
  const databaseUrl = raw.DATABASE_URL || undefined;
  if (databaseUrl !== undefined) checkPostgresUrl(databaseUrl);
  const production = isProduction(raw.RESOURCE_ID);
  if (production && !isProduction(raw.AUTHORIZATION_SERVER)) {
    throw new ConfigError(
      `Invalid configuration: AUTHORIZATION_SERVER must be an https URL when RESOURCE_ID is https (got "${raw.AUTHORIZATION_SERVER}")`,
    );
  }
  return {
    port: raw.PORT,
    host: raw.HOST,
    resourceId: raw.RESOURCE_ID,
    // The issuer is compared exactly (RFC 8414 §3.3), so keep it as configured; only the URL we fetch from
    // drops a trailing slash (see AccessTokenVerifier).
    authorizationServer: raw.AUTHORIZATION_SERVER,
    databaseUrl,
    // Absolute, so the start-up log names the real place and a later chdir cannot move it.
    dataDir: resolve(raw.DATA_DIR),
    autoMigrate: flag('AUTO_MIGRATE', raw.AUTO_MIGRATE),
    seedDemoData: flag('SEED_DEMO_DATA', raw.SEED_DEMO_DATA),
    clockTolerance: raw.CLOCK_TOLERANCE,
    workshopMode: flag('WORKSHOP_MODE', raw.WORKSHOP_MODE),
    logLevel: raw.LOG_LEVEL,
    production,
  };
}
