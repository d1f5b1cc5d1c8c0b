// Authorization server configuration: an env schema checked at start (a bad value stops the process with a
// message naming the variable). An https ISSUER means production, where development defaults are refused.
// Backends: DATABASE_URL unset means an embedded PostgreSQL (PGlite) in DATA_DIR; REDIS_URL unset means the
// in-process key-value store (one instance only). Setting them switches to the real servers, nothing else.
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import {
  ConfigError,
  DPOP_ALGORITHMS,
  FAPI2_ALGORITHMS,
  PROFILES,
  ServerSettingsSchema,
  applyProfile,
  checkServerSettings,
  checkUrl,
  isProduction,
  listSetting,
  loadConfig,
  normaliseEnv,
  refuseDevelopmentSettings,
  workshopTraceSecret,
  type Profile,
} from '@quartet/common';
import type { ClientAuthMethod } from './domain/records.js';
import { CLIENT_ASSERTION_ALGORITHMS } from './lib/client-jwks.js';
import { DEFAULT_DATA_DIR } from './paths.js';

export const DEV_KEY_ENCRYPTION_SECRET = 'dev-only-key-encryption-secret-change-me';
export const DEV_DEMO_CLIENT_SECRET = 'demo-client-secret';
/** scrypt cost (N) for new password hashes; 2^15 with r=8, p=3 follows the OWASP password storage cheat sheet. */
export const DEFAULT_SCRYPT_N = 32768;
const MIN_PRODUCTION_SCRYPT_N = 16384;
/** `<repo root>/data/authorization-server` (src/paths.ts), so it does not depend on the cwd. */
export { DEFAULT_DATA_DIR };
const BOOLEAN_VARIABLES = [
  'AUTO_MIGRATE',
  'SEED_DEMO_DATA',
  'WORKSHOP_MODE',
  'CLIENT_METADATA_DOCUMENTS',
  'REQUIRE_PUSHED_AUTHORIZATION_REQUESTS',
  'DPOP_NONCE_REQUIRED',
  'DPOP_REQUIRED',
  'REFRESH_TOKEN_ROTATION',
] as const;
/** Empty means unset (`DATABASE_URL= npm start`), not an invalid URL. */
const OPTIONAL_VARIABLES = ['DATABASE_URL', 'REDIS_URL', 'PROFILE'] as const;

/**
 * What PROFILE=fapi2 fixes (FAPI 2.0 Security Profile §5.3.2): every authorization request pushed (§5.3.2.2),
 * only sender-constrained tokens (§5.3.2.1; DPoP, RFC 9449), no refresh token rotation (§5.3.2.1), and no client
 * metadata documents, whose clients are public (§5.3.2.1: confidential clients only). Client authentication is
 * private_key_jwt only (clientAuthMethods) and codes live at most 60 s (checked in readConfig).
 */
const FAPI2_SETTINGS = {
  REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: 'true',
  DPOP_REQUIRED: 'true',
  REFRESH_TOKEN_ROTATION: 'false',
  CLIENT_METADATA_DOCUMENTS: 'false',
} as const;
/** FAPI 2.0 Security Profile §5.3.2.1: "shall issue authorization codes with a maximum lifetime of 60 seconds". */
const FAPI2_MAX_CODE_TTL = 60;

const HttpUrl = (defaultValue: string) => Type.String({ default: defaultValue, pattern: '^https?://[^\\s]+$' });

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ default: 9000, minimum: 0, maximum: 65535 }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  ISSUER: HttpUrl('http://localhost:9000'),
  /**
   * A security profile (@quartet/common profile.ts): `fapi2` applies the FAPI 2.0 Security Profile — the settings
   * in FAPI2_SETTINGS are fixed (a contrary value stops the start), client authentication is private_key_jwt only
   * with the assertion's aud the issuer as a string, JWS algorithms ES256, PS256 or EdDSA. docs/security.md says
   * which parts of FAPI 2.0 this covers and which not.
   */
  PROFILE: Type.Unsafe<Profile>({ type: 'string', enum: PROFILES, default: 'default' }),
  /** postgresql://… of a PostgreSQL server; unset: embedded PostgreSQL (PGlite) in DATA_DIR. */
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  /** Folder of the embedded database (used only when DATABASE_URL is unset). */
  DATA_DIR: Type.String({ default: DEFAULT_DATA_DIR, minLength: 1 }),
  /** Apply pending migrations at start. */
  AUTO_MIGRATE: Type.Boolean({ default: false }),
  /** Run the idempotent demo seed at start (after migrating). */
  SEED_DEMO_DATA: Type.Boolean({ default: false }),
  /** redis://… or rediss://…; unset: codes and sessions stay in this process (one instance only). */
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_PREFIX: Type.String({ default: 'quartet:as:' }),
  RESOURCE_AUDIENCE: HttpUrl('http://localhost:9100'),
  KEY_ENCRYPTION_SECRET: Type.String({ default: DEV_KEY_ENCRYPTION_SECRET, minLength: 16 }),
  DEMO_CLIENT_SECRET: Type.String({ default: DEV_DEMO_CLIENT_SECRET, minLength: 8 }),
  DEMO_CLIENT_REDIRECT_URI: HttpUrl('http://localhost:3000/callback'),
  WORKSHOP_CLI_REDIRECT_URI: HttpUrl('http://127.0.0.1:8765/callback'),
  /** Further resource identifiers (RFC 8707) a client may ask tokens for, comma-separated absolute URIs. */
  RESOURCES: Type.String({ default: '' }),
  /**
   * Access-token lifetime. Access tokens are verified locally by resource servers, so this (plus the resource
   * server's clock tolerance) is also the bound on how long a revoked grant's access tokens keep working.
   */
  ACCESS_TOKEN_TTL: Type.Integer({ default: 300, minimum: 1, maximum: 86400 }),
  /** Refresh tokens: absolute lifetime of a grant's refresh-token family, and the idle limit between uses. */
  REFRESH_TOKEN_TTL: Type.Integer({ default: 30 * 86400, minimum: 1 }),
  REFRESH_TOKEN_IDLE_TTL: Type.Integer({ default: 7 * 86400, minimum: 1 }),
  /**
   * Rotation: every refresh spends the refresh token and issues a new one, and a reuse revokes the grant (RFC 9700
   * §4.14.2). With false, the refresh tokens of confidential clients, and those bound to a DPoP key (RFC 9449 §5),
   * stay the same and only their idle limit moves on; a public client's unbound token still rotates, because RFC
   * 9700 §4.14.2 allows nothing else for it. FAPI 2.0 §5.3.2.1 rules rotation out (PROFILE=fapi2 sets false).
   */
  REFRESH_TOKEN_ROTATION: Type.Boolean({ default: true }),
  /**
   * Key rotation: a new key is published in the JWKS this long before it signs (longer than the resource
   * servers' JWKS refetch cooldown plus KEY_RELOAD_INTERVAL), and every instance re-reads the keys this often.
   */
  KEY_PUBLISH_DELAY: Type.Integer({ default: 60, minimum: 0 }),
  /**
   * How long each instance keeps a registered client's record (redirect URIs, secret hash, scopes, grant
   * types) before reading it again; 0 reads it on every request. Every token request and authorization
   * request needs it, and it rarely changes; the price is that a removed client or a changed secret takes
   * up to this long to take effect on each instance. Unknown client ids are never cached.
   */
  CLIENT_CACHE_TTL: Type.Integer({ default: 5, minimum: 0, maximum: 300 }),
  KEY_RELOAD_INTERVAL: Type.Integer({ default: 10, minimum: 1 }),
  /**
   * Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document): an https client_id is fetched
   * as the client's metadata (through the SSRF guard, src/lib/metadata-document-fetch.ts). With an http
   * (development) ISSUER, loopback http URLs are accepted too; never in production.
   */
  CLIENT_METADATA_DOCUMENTS: Type.Boolean({ default: true }),
  /**
   * Clients known by a metadata document kept at most (their rows: consents and grants refer to them). Past it,
   * unused ones (no consent, no grant, untouched for 3 hours) make room; else a new one gets 503 + Retry-After.
   */
  MAX_DOCUMENT_CLIENTS: Type.Integer({ default: 10000, minimum: 1 }),
  AUTHORIZATION_CODE_TTL: Type.Integer({ default: 60, minimum: 1, maximum: 600 }),
  LOGIN_SESSION_TTL: Type.Integer({ default: 3600, minimum: 1 }),
  /** How long a validated authorization request waits for login and consent. */
  AUTHORIZATION_REQUEST_TTL: Type.Integer({ default: 600, minimum: 1, maximum: 3600 }),
  /** scrypt N for new password hashes (a power of two); tests lower it to stay fast. */
  PASSWORD_SCRYPT_N: Type.Integer({ default: DEFAULT_SCRYPT_N, minimum: 2, maximum: 1048576 }),
  /**
   * Workshop mode: record the steps of each flow that carries a W3C traceparent and serve them at
   * GET /workshop/traces/:traceId (per process, in memory). For demonstrations only; off by default.
   */
  WORKSHOP_MODE: Type.Boolean({ default: false }),
  /**
   * Workshop mode: the key the client app signs its trace ids with (shared by the three services); a
   * traceparent whose trace id does not carry it is ignored, so nobody else can create or fill a trace.
   */
  WORKSHOP_TRACE_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  /**
   * Guessing (RFC 6749 §10.10, RFC 9700 §4, OWASP ASVS V2.2): failed logins allowed per account and per
   * client address, and failed client authentications per client, within THROTTLE_WINDOW seconds. Past a
   * limit that key is refused (429 + Retry-After) for THROTTLE_BLOCK seconds, doubling with each further
   * block up to THROTTLE_MAX_BLOCK. Per address it is loose: a workshop room shares one NAT address.
   */
  THROTTLE_LOGIN_ACCOUNT: Type.Integer({ default: 5, minimum: 1 }),
  THROTTLE_LOGIN_ADDRESS: Type.Integer({ default: 100, minimum: 1 }),
  THROTTLE_CLIENT: Type.Integer({ default: 20, minimum: 1 }),
  THROTTLE_WINDOW: Type.Integer({ default: 900, minimum: 1, maximum: 86400 }),
  THROTTLE_BLOCK: Type.Integer({ default: 60, minimum: 1, maximum: 86400 }),
  THROTTLE_MAX_BLOCK: Type.Integer({ default: 3600, minimum: 1, maximum: 86400 }),
  /** Authorization requests per client address and minute (any outcome); 0 turns the limit off. */
  RATE_LIMIT_AUTHORIZE: Type.Integer({ default: 300, minimum: 0 }),
  /**
   * RFC 7591 dynamic client registration at /oauth/register: off (the endpoint does not exist), open (anyone
   * may register a client for the authorization code and device grants), or token (an initial access token,
   * CLIENT_REGISTRATION_TOKEN, is required, and client_credentials may be registered too).
   */
  CLIENT_REGISTRATION: Type.Union([Type.Literal('off'), Type.Literal('open'), Type.Literal('token')], {
    default: 'off',
  }),
  /** RFC 7591 §3 initial access token (a Bearer token); required with CLIENT_REGISTRATION=token. */
  CLIENT_REGISTRATION_TOKEN: Type.Optional(Type.String({ minLength: 32 })),
  /** Client registrations per client address and hour (any outcome); 0 turns the limit off. */
  RATE_LIMIT_REGISTRATION: Type.Integer({ default: 20, minimum: 0 }),
  /** Cap on self-registered clients (503 + Retry-After when reached): every one is a row anyone can create. */
  MAX_DYNAMIC_CLIENTS: Type.Integer({ default: 10000, minimum: 1 }),
  /** Password hashes (scrypt, 128·N·r bytes each) computed at once, and how many more may wait (then 503). */
  PASSWORD_HASH_CONCURRENCY: Type.Integer({ default: 2, minimum: 1, maximum: 64 }),
  PASSWORD_HASH_QUEUE: Type.Integer({ default: 32, minimum: 0, maximum: 10000 }),
  /** Caps on state anyone can make the server keep: pending authorization requests, login sessions. */
  MAX_PENDING_AUTHORIZATIONS: Type.Integer({ default: 10000, minimum: 1 }),
  MAX_LOGIN_SESSIONS: Type.Integer({ default: 100000, minimum: 1 }),
  /**
   * The resource servers' JWKS refetch cooldown (their JWKS_COOLDOWN): a new signing key must be published
   * for at least this plus KEY_RELOAD_INTERVAL before it signs, or a resource server that fetched the set
   * just before the key appeared cannot fetch again in time and refuses the first tokens it signs.
   */
  RESOURCE_SERVER_JWKS_COOLDOWN: Type.Integer({ default: 30, minimum: 0 }),
  /**
   * Device authorization grant (RFC 8628): how long a device code and its user code work, the polling
   * interval devices are told (§3.2; slow_down adds 5 s per device code), how many may be pending at once
   * (anyone who knows a public device client's id can start one), and how many wrong user codes one client
   * address may type within THROTTLE_WINDOW before it is blocked (§5.1: user codes are guessable by trying).
   */
  DEVICE_CODE_TTL: Type.Integer({ default: 600, minimum: 1, maximum: 1800 }),
  DEVICE_POLL_INTERVAL: Type.Integer({ default: 5, minimum: 1, maximum: 60 }),
  MAX_DEVICE_AUTHORIZATIONS: Type.Integer({ default: 10000, minimum: 1 }),
  THROTTLE_USER_CODE: Type.Integer({ default: 20, minimum: 1 }),
  /** Device authorization requests per client address and minute; 0 turns the limit off. */
  RATE_LIMIT_DEVICE_AUTHORIZATION: Type.Integer({ default: 60, minimum: 0 }),
  /**
   * DPoP (RFC 9449) at the token endpoint: DPOP_REQUIRED refuses token requests without a proof (§5); a proof
   * may be DPOP_PROOF_LIFETIME seconds old (§11.1); MAX_DPOP_PROOFS caps the jti replay guard (§11.1: any
   * stranger can make us remember a jti, so the set is bounded; full answers 503 + Retry-After).
   */
  DPOP_REQUIRED: Type.Boolean({ default: false }),
  DPOP_PROOF_LIFETIME: Type.Integer({ default: 60, minimum: 1, maximum: 600 }),
  MAX_DPOP_PROOFS: Type.Integer({ default: 100000, minimum: 1 }),
  /**
   * DPoP server nonces (RFC 9449 §8): a proof at the token and PAR endpoints must carry a nonce this server gave
   * in a DPoP-Nonce header (400 use_dpop_nonce otherwise), which limits how long a proof made in advance works.
   * The nonces are stateless and the same on every instance (see src/lib/dpop-nonces.ts).
   */
  DPOP_NONCE_REQUIRED: Type.Boolean({ default: false }),
  /**
   * Pushed authorization requests (RFC 9126): REQUIRE_PUSHED_AUTHORIZATION_REQUESTS makes the PAR endpoint the
   * only way to send an authorization request, for every client (§5; per client: its registration, §6); a
   * request_uri works once, for PAR_REQUEST_TTL seconds (at most 60: a pushed request only waits for the browser
   * to arrive); at most MAX_PUSHED_AUTHORIZATIONS wait at once (503 + Retry-After beyond); RATE_LIMIT_PAR pushes
   * per client address and minute (0: off; a busy client back end may need more).
   */
  REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: Type.Boolean({ default: false }),
  PAR_REQUEST_TTL: Type.Integer({ default: 60, minimum: 1, maximum: 60 }),
  MAX_PUSHED_AUTHORIZATIONS: Type.Integer({ default: 10000, minimum: 1 }),
  RATE_LIMIT_PAR: Type.Integer({ default: 600, minimum: 0 }),
  /**
   * private_key_jwt (RFC 7523): a client assertion may be valid for at most CLIENT_ASSERTION_MAX_LIFETIME seconds
   * (exp - iat; RFC 7523 §3 lets the server refuse long-lived ones), and its jti is remembered until it expires, in
   * a guard capped at MAX_CLIENT_ASSERTIONS (only assertions whose signature verified take a place; full: 503).
   */
  CLIENT_ASSERTION_MAX_LIFETIME: Type.Integer({ default: 300, minimum: 1, maximum: 600 }),
  MAX_CLIENT_ASSERTIONS: Type.Integer({ default: 100000, minimum: 1 }),
  ...ServerSettingsSchema,
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
});

export type Config = Static<typeof ConfigSchema>;

/** Every client authentication method this server knows (RFC 8414 token_endpoint_auth_methods_supported). */
export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
];

/**
 * The client authentication methods accepted: under PROFILE=fapi2 private_key_jwt only (FAPI 2.0 Security Profile
 * §5.3.2.1: confidential clients only, authenticated with private_key_jwt or mutual TLS, which is out of scope).
 */
export function clientAuthMethods(config: Pick<Config, 'PROFILE'>): readonly ClientAuthMethod[] {
  return config.PROFILE === 'fapi2' ? ['private_key_jwt'] : CLIENT_AUTH_METHODS;
}

/** The algorithms a DPoP proof may be signed with (RFC 9449 §5.1): PS256, ES256, EdDSA under FAPI 2.0 (§5.4.1). */
export function dpopAlgorithms(config: Pick<Config, 'PROFILE'>): readonly string[] {
  return config.PROFILE === 'fapi2' ? FAPI2_ALGORITHMS : DPOP_ALGORITHMS;
}

/** The algorithms a client assertion may be signed with (RFC 7523): under FAPI 2.0 (§5.4.1) fewer. */
export function assertionAlgorithms(config: Pick<Config, 'PROFILE'>): readonly string[] {
  return config.PROFILE === 'fapi2' ? FAPI2_ALGORITHMS : CLIENT_ASSERTION_ALGORITHMS;
}

/**
 * KEY_PUBLISH_DELAY too short for the resource servers to learn a new key before it signs (see
 * RESOURCE_SERVER_JWKS_COOLDOWN), or null. Refused in production, a start-up warning elsewhere.
 */
export function keyRotationProblem(
  config: Pick<Config, 'KEY_PUBLISH_DELAY' | 'KEY_RELOAD_INTERVAL' | 'RESOURCE_SERVER_JWKS_COOLDOWN'>,
): string | null {
  const needed = config.RESOURCE_SERVER_JWKS_COOLDOWN + config.KEY_RELOAD_INTERVAL;
  if (config.KEY_PUBLISH_DELAY >= needed) return null;
  return `KEY_PUBLISH_DELAY (${config.KEY_PUBLISH_DELAY} s) is shorter than RESOURCE_SERVER_JWKS_COOLDOWN + KEY_RELOAD_INTERVAL (${needed} s): resource servers may refuse the first tokens of a rotated-in key`;
}

/** Reads and checks the configuration; throws ConfigError naming the offending variable. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const normalised = normaliseEnv(env, { flags: BOOLEAN_VARIABLES, optional: OPTIONAL_VARIABLES });
  const config = loadConfig(ConfigSchema, applyProfile(normalised, normalised.PROFILE, FAPI2_SETTINGS));
  if (config.PROFILE === 'fapi2' && config.AUTHORIZATION_CODE_TTL > FAPI2_MAX_CODE_TTL) {
    throw new ConfigError(
      `Invalid configuration: PROFILE=fapi2 allows AUTHORIZATION_CODE_TTL of at most ${FAPI2_MAX_CODE_TTL} seconds (got ${config.AUTHORIZATION_CODE_TTL})`,
    );
  }
  // A relative DATA_DIR is taken from the cwd once, so the log line and the database agree on where it is.
  config.DATA_DIR = resolve(config.DATA_DIR);
  // RFC 8414 §2: the issuer is a URL with no query or fragment, compared byte for byte; a trailing slash
  // would change `iss`.
  checkUrl('ISSUER', config.ISSUER, { identifier: true });
  if (config.ISSUER.endsWith('/')) {
    throw new ConfigError(`Invalid configuration: ISSUER must have no trailing slash (got "${config.ISSUER}")`);
  }
  checkUrl('RESOURCE_AUDIENCE', config.RESOURCE_AUDIENCE);
  // RFC 8707 §2: a resource indicator is an absolute URI, of any scheme (production asks https, below).
  for (const resource of listSetting(config.RESOURCES)) checkUrl('RESOURCES', resource, { protocols: 'any' });
  checkUrl('DEMO_CLIENT_REDIRECT_URI', config.DEMO_CLIENT_REDIRECT_URI);
  checkUrl('WORKSHOP_CLI_REDIRECT_URI', config.WORKSHOP_CLI_REDIRECT_URI);
  if ((config.PASSWORD_SCRYPT_N & (config.PASSWORD_SCRYPT_N - 1)) !== 0) {
    throw new ConfigError('Invalid configuration: PASSWORD_SCRYPT_N must be a power of two');
  }
  checkServerSettings(config);
  if (config.THROTTLE_BLOCK > config.THROTTLE_MAX_BLOCK) {
    throw new ConfigError('Invalid configuration: THROTTLE_BLOCK must not be longer than THROTTLE_MAX_BLOCK');
  }
  workshopTraceSecret(config.WORKSHOP_MODE, config.WORKSHOP_TRACE_SECRET);
  if (config.CLIENT_REGISTRATION === 'token' && !config.CLIENT_REGISTRATION_TOKEN) {
    throw new ConfigError('Invalid configuration: CLIENT_REGISTRATION=token needs CLIENT_REGISTRATION_TOKEN');
  }
  const production = isProduction(config.ISSUER);
  refuseDevelopmentSettings('ISSUER', config.ISSUER, {
    secrets: {
      KEY_ENCRYPTION_SECRET: { value: config.KEY_ENCRYPTION_SECRET, devDefault: DEV_KEY_ENCRYPTION_SECRET },
      DEMO_CLIENT_SECRET: { value: config.DEMO_CLIENT_SECRET, devDefault: DEV_DEMO_CLIENT_SECRET },
    },
    // The demo users (alice/wonderland) and the workshop's unauthenticated trace pages have no place in production.
    switches: { WORKSHOP_MODE: config.WORKSHOP_MODE, SEED_DEMO_DATA: config.SEED_DEMO_DATA },
    httpsUrls: { RESOURCE_AUDIENCE: config.RESOURCE_AUDIENCE, RESOURCES: listSetting(config.RESOURCES) },
  });
  if (production && config.PASSWORD_SCRYPT_N < MIN_PRODUCTION_SCRYPT_N) {
    throw new ConfigError(
      `Invalid configuration: PASSWORD_SCRYPT_N below ${MIN_PRODUCTION_SCRYPT_N} is refused when ISSUER is https`,
    );
  }
  const rotation = keyRotationProblem(config);
  if (production && rotation) throw new ConfigError(`Invalid configuration: ${rotation}`);
  return config;
}
