// Resource server configuration: an env schema checked at start. A bad or missing value stops the process
// with a message naming the variable (the contract's variable names and defaults are fixed in CONTEXT.md).
//
// Production is told apart by the resource identifier: an https RESOURCE_ID means real users reach us, so the
// authorization server must then be reached over https too — its metadata and JWKS are the trust anchor for
// every token we accept (RFC 8414 §3, RFC 8725 §3.1), and fetching them over plain http would let anyone on
// the path substitute their own keys.
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, isProduction, loadConfig as loadEnv } from '@quartet/common';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 9100 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  RESOURCE_ID: Type.String({ minLength: 1, default: 'http://localhost:9100' }),
  AUTHORIZATION_SERVER: Type.String({ minLength: 1, default: 'http://localhost:9000' }),
  DATABASE_URL: Type.String({ minLength: 1, default: 'postgresql://postgres@127.0.0.1:5432/quartet_resource' }),
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
  databaseUrl: string;
  /** Seconds. */
  clockTolerance: number;
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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = loadEnv(ConfigSchema, env);
  checkHttpUrl('RESOURCE_ID', raw.RESOURCE_ID);
  checkHttpUrl('AUTHORIZATION_SERVER', raw.AUTHORIZATION_SERVER);
  let db: URL;
  try {
    db = new URL(raw.DATABASE_URL);
  } catch {
    throw new ConfigError('Invalid configuration: DATABASE_URL must be a postgresql:// URL');
  }
  if (db.protocol !== 'postgresql:' && db.protocol !== 'postgres:') {
    throw new ConfigError('Invalid configuration: DATABASE_URL must be a postgresql:// URL');
  }
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
    databaseUrl: raw.DATABASE_URL,
    clockTolerance: raw.CLOCK_TOLERANCE,
    logLevel: raw.LOG_LEVEL,
    production,
  };
}
