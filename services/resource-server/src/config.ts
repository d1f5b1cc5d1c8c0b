// Resource server configuration: an env schema checked at start, whose keys are the environment variables of
// the service README (one name for a setting everywhere). A bad or missing value stops the process with a
// message naming the variable. Plugins read it as `app.config` (plugins/config.ts); the few values derived
// from several settings are computed by the small functions at the end of this file.
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
  DPOP_ALGORITHMS,
  FAPI2_ALGORITHMS,
  PROFILES,
  type Profile,
  ServerSettingsSchema,
  applyProfile,
  checkServerSettings,
  checkUrl,
  isProduction,
  loadConfig as loadEnv,
  normaliseEnv,
  refuseDevelopmentSettings,
  workshopTraceSecret,
} from '@quartet/common';
import type { DatabaseLocation } from './lib/prisma.js';
import type { AccessTokenVerifierOptions } from './lib/access-token-verifier.js';
import type { PhotoQuota } from './repositories/photos.js';
import { DEFAULT_DATA_DIR } from './paths.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `<repo root>/data/resource-server` (src/paths.ts): the same folder whatever the cwd. */
export { DEFAULT_DATA_DIR };

// Flags are spelled true/false or 1/0 in any case (normaliseEnv); anything else ("yes", "on") is a typo worth
// stopping for, reported as "<NAME> must be boolean".
const FLAGS = ['AUTO_MIGRATE', 'SEED_DEMO_DATA', 'WORKSHOP_MODE', 'DPOP_REQUIRED'] as const;

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 9100 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  // Our identifier: the `aud` every accepted access token must contain (RFC 9068 §4).
  RESOURCE_ID: Type.String({ minLength: 1, default: 'http://localhost:9100' }),
  // The issuer we trust; its metadata is at `${AUTHORIZATION_SERVER}/.well-known/oauth-authorization-server`.
  // Compared exactly (RFC 8414 §3.3), so kept as configured; only the URL we fetch from drops a trailing slash
  // (see AccessTokenVerifier).
  AUTHORIZATION_SERVER: Type.String({ minLength: 1, default: 'http://localhost:9000' }),
  // No default: unset (or empty) means the embedded database in DATA_DIR.
  DATABASE_URL: Type.Optional(Type.String()),
  // Made absolute by readConfig, so the start-up log names the real place and a later chdir cannot move it.
  DATA_DIR: Type.String({ minLength: 1, default: DEFAULT_DATA_DIR }),
  // Apply pending migrations / the idempotent demo seed at start (the root `npm start` sets both).
  AUTO_MIGRATE: Type.Boolean({ default: false }),
  SEED_DEMO_DATA: Type.Boolean({ default: false }),
  // Workshop mode: record the steps of requests that carry a W3C traceparent; serve them at
  // GET /workshop/traces/:traceId (per process, in memory). For demonstrations only.
  WORKSHOP_MODE: Type.Boolean({ default: false }),
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
  // A security profile (@quartet/common profile.ts): `fapi2`, the FAPI 2.0 Security Profile, accepts only
  // sender-constrained tokens (§5.3.3: DPOP_REQUIRED is fixed to true) and DPoP proofs signed with PS256, ES256
  // or EdDSA (§5.4.1); docs/security.md says which parts of FAPI 2.0 it covers.
  PROFILE: Type.Unsafe<Profile>({ type: 'string', enum: PROFILES, default: 'default' }),
  // DPoP (RFC 9449 §7). DPOP_REQUIRED: every token must be DPoP-bound and come with a proof (Bearer is
  // refused, §7.2), announced as dpop_bound_access_tokens_required in our RFC 9728 metadata.
  // DPOP_PROOF_LIFETIME: seconds a proof's iat may lie in the past (§11.1: short, since a proof's jti is
  // remembered that long to refuse its replay).
  DPOP_REQUIRED: Type.Boolean({ default: false }),
  DPOP_PROOF_LIFETIME: Type.Integer({ minimum: 1, maximum: 300, default: 60 }),
  // The jti replay guard of DPoP proofs (RFC 9449 §11.1): Redis when REDIS_URL is set (shared by all
  // replicas, so a proof replayed at another instance is caught too), else this process. At most
  // MAX_DPOP_PROOFS jti are remembered at once (a stranger can make us keep one per proof); beyond it a DPoP
  // request is 503 + Retry-After. Size it to DPoP requests per second × (DPOP_PROOF_LIFETIME + CLOCK_TOLERANCE).
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_PREFIX: Type.String({ default: 'quartet:rs:' }),
  MAX_DPOP_PROOFS: Type.Integer({ minimum: 100, maximum: 10_000_000, default: 100_000 }),
  // TRUST_PROXY and the slow-client timeouts, as every service has them (@quartet/common server-settings).
  ...ServerSettingsSchema,
  LOG_LEVEL: Type.Union(
    LOG_LEVELS.map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
});

export type Config = Static<typeof ConfigSchema>;

const POSTGRES_URL_MESSAGE =
  'Invalid configuration: DATABASE_URL must be a postgresql:// URL (or unset for the embedded database)';

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // `DATABASE_URL=` (empty) is how a shell unsets a variable for one command: treat it as unset.
  const normalised = normaliseEnv(env, { flags: FLAGS, optional: ['DATABASE_URL', 'REDIS_URL', 'PROFILE'] });
  const config = loadEnv(ConfigSchema, applyProfile(normalised, normalised.PROFILE, { DPOP_REQUIRED: 'true' }));
  // Identifiers are compared byte for byte: the issuer (RFC 8414 §2) and our resource identifier against `aud`.
  checkUrl('RESOURCE_ID', config.RESOURCE_ID, { identifier: true });
  checkUrl('AUTHORIZATION_SERVER', config.AUTHORIZATION_SERVER, { identifier: true });
  if (config.DATABASE_URL !== undefined) {
    // Our own message, without the value: a database URL usually carries a password.
    try {
      checkUrl('DATABASE_URL', config.DATABASE_URL, { protocols: ['postgresql:', 'postgres:'] });
    } catch {
      throw new ConfigError(POSTGRES_URL_MESSAGE);
    }
  }
  if (production(config) && !isProduction(config.AUTHORIZATION_SERVER)) {
    throw new ConfigError(
      `Invalid configuration: AUTHORIZATION_SERVER must be an https URL when RESOURCE_ID is https (got "${config.AUTHORIZATION_SERVER}")`,
    );
  }
  checkServerSettings(config);
  // Demo photos for alice and bob, and the workshop's unauthenticated trace pages, have no place in production.
  refuseDevelopmentSettings('RESOURCE_ID', config.RESOURCE_ID, {
    switches: { WORKSHOP_MODE: config.WORKSHOP_MODE, SEED_DEMO_DATA: config.SEED_DEMO_DATA },
  });
  return {
    ...config,
    DATA_DIR: resolve(config.DATA_DIR),
    WORKSHOP_TRACE_SECRET: workshopTraceSecret(config.WORKSHOP_MODE, config.WORKSHOP_TRACE_SECRET),
  };
}

/** Whether real users reach us: an https RESOURCE_ID (see the header comment). */
export function production(config: Pick<Config, 'RESOURCE_ID'>): boolean {
  return isProduction(config.RESOURCE_ID);
}

/** Where the database is: a PostgreSQL server, or the embedded one in DATA_DIR (lib/prisma.ts). */
export function databaseLocation(config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR'>): DatabaseLocation {
  return { databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR };
}

/** The per-user photo quota checked on upload (repositories/photos.ts). */
export function photoQuota(config: Pick<Config, 'PHOTO_QUOTA_COUNT' | 'PHOTO_QUOTA_BYTES'>): PhotoQuota {
  return { count: config.PHOTO_QUOTA_COUNT, bytes: config.PHOTO_QUOTA_BYTES };
}

/** The AccessTokenVerifier options the settings give: whom to trust, for which audience, the key cache in ms. */
/** The algorithms a DPoP proof may be signed with (RFC 9449 §7.1 `algs`): fewer under PROFILE=fapi2. */
export function dpopAlgorithms(config: Pick<Config, 'PROFILE'>): readonly string[] {
  return config.PROFILE === 'fapi2' ? FAPI2_ALGORITHMS : DPOP_ALGORITHMS;
}

export function verifierOptions(config: Config): AccessTokenVerifierOptions {
  return {
    issuer: config.AUTHORIZATION_SERVER,
    audience: config.RESOURCE_ID,
    clockTolerance: config.CLOCK_TOLERANCE,
    requireHttps: production(config),
    cacheMaxAge: config.JWKS_CACHE_MAX_AGE * 1000,
    maxStale: config.JWKS_MAX_STALE * 1000,
    cooldownDuration: config.JWKS_COOLDOWN * 1000,
    timeoutDuration: Math.round(config.JWKS_FETCH_TIMEOUT * 1000),
  };
}
