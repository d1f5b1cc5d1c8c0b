// Resource server configuration: an env schema checked at start. A bad or missing value stops the process
// with a message naming the variable (variables and defaults: the service README).
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
import {
  ConfigError,
  ServerSettingsSchema,
  checkServerSettings,
  isProduction,
  loadConfig as loadEnv,
  refuseDevelopmentSettings,
  workshopTraceSecret,
  type ServerSettings,
} from '@quartet/common';
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
  // Workshop mode: the key the client app signs its trace ids with (the same in all three services); a
  // traceparent whose id does not carry it is ignored, so nobody else can create or fill a trace.
  WORKSHOP_TRACE_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  // Seconds of clock skew accepted on exp/nbf (RFC 8725 §3.10 leaves this to the RS); large values defeat expiry.
  CLOCK_TOLERANCE: Type.Integer({ minimum: 0, maximum: 300, default: 5 }),
  // The authorization server's key set (JWKS), cached with RFC 5861 stale-if-error (lib/remote-key-set.ts), in
  // seconds. Max age: refreshed (in the background) after this. Max stale: how long past its max age the last
  // good set is still used while refreshes fail (0: never). Cooldown: the least time between fetches caused
  // by tokens with an unknown kid — at least 1 s, or a forged kid could make every request a fetch.
  JWKS_CACHE_MAX_AGE: Type.Integer({ minimum: 1, maximum: 86_400, default: 600 }),
  JWKS_MAX_STALE: Type.Integer({ minimum: 0, maximum: 604_800, default: 86_400 }),
  JWKS_COOLDOWN: Type.Integer({ minimum: 1, maximum: 3600, default: 30 }),
  // Seconds (fractions allowed, e.g. 0.5): one metadata or JWKS request, and the longest any request waits
  // for the authorization server.
  JWKS_FETCH_TIMEOUT: Type.Number({ minimum: 0.1, maximum: 60, default: 3 }),
  // Uploads (routes/photos.ts): photo uploads processed at once by this instance (each holds a few times its
  // 2 MB in memory); beyond it 503 + Retry-After before the body is read. Per-user quota of photos and bytes.
  MAX_CONCURRENT_UPLOADS: Type.Integer({ minimum: 1, maximum: 256, default: 4 }),
  PHOTO_QUOTA_COUNT: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000 }),
  PHOTO_QUOTA_BYTES: Type.Integer({ minimum: 1, maximum: 1024 ** 4, default: 100 * 1024 * 1024 }),
  ...ServerSettingsSchema,
  LOG_LEVEL: Type.Union(
    LOG_LEVELS.map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
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
  /** JWKS cache, in seconds: max age, max stale (RFC 5861 §4), unknown-kid cooldown, fetch timeout (may be fractional). */
  jwks: { cacheMaxAge: number; maxStale: number; cooldown: number; fetchTimeout: number };
  /** Photo uploads this instance processes at once (MAX_CONCURRENT_UPLOADS). */
  maxConcurrentUploads: number;
  /** Per-user photo quota: number of photos and total image bytes. */
  photoQuota: { count: number; bytes: number };
  /** WORKSHOP_MODE: trace steps per W3C traceparent, served at GET /workshop/traces/:traceId. */
  workshopMode: boolean;
  /** WORKSHOP_TRACE_SECRET: only trace ids the client app signed with it are traced (required in workshop mode). */
  workshopTraceSecret: string | undefined;
  /** TRUST_PROXY and the slow-client timeouts, as every service has them (@quartet/common server-settings). */
  server: ServerSettings;
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
    throw new ConfigError(
      'Invalid configuration: DATABASE_URL must be a postgresql:// URL (or unset for the embedded database)',
    );
  }
  if (db.protocol !== 'postgresql:' && db.protocol !== 'postgres:') {
    throw new ConfigError(
      'Invalid configuration: DATABASE_URL must be a postgresql:// URL (or unset for the embedded database)',
    );
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
  const workshopMode = flag('WORKSHOP_MODE', raw.WORKSHOP_MODE);
  const seedDemoData = flag('SEED_DEMO_DATA', raw.SEED_DEMO_DATA);
  const server: ServerSettings = {
    TRUST_PROXY: raw.TRUST_PROXY,
    REQUEST_TIMEOUT: raw.REQUEST_TIMEOUT,
    HEADERS_TIMEOUT: raw.HEADERS_TIMEOUT,
    KEEP_ALIVE_TIMEOUT: raw.KEEP_ALIVE_TIMEOUT,
  };
  checkServerSettings(server);
  // Demo photos for alice and bob, and the workshop's unauthenticated trace pages, have no place in production.
  refuseDevelopmentSettings('RESOURCE_ID', raw.RESOURCE_ID, {
    switches: { WORKSHOP_MODE: workshopMode, SEED_DEMO_DATA: seedDemoData },
  });
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
    seedDemoData,
    clockTolerance: raw.CLOCK_TOLERANCE,
    jwks: {
      cacheMaxAge: raw.JWKS_CACHE_MAX_AGE,
      maxStale: raw.JWKS_MAX_STALE,
      cooldown: raw.JWKS_COOLDOWN,
      fetchTimeout: raw.JWKS_FETCH_TIMEOUT,
    },
    maxConcurrentUploads: raw.MAX_CONCURRENT_UPLOADS,
    photoQuota: { count: raw.PHOTO_QUOTA_COUNT, bytes: raw.PHOTO_QUOTA_BYTES },
    workshopMode,
    workshopTraceSecret: workshopTraceSecret(workshopMode, raw.WORKSHOP_TRACE_SECRET),
    server,
    logLevel: raw.LOG_LEVEL,
    production,
  };
}
