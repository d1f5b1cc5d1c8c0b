// Authorization server configuration: an env schema checked at start (a bad value stops the process with a
// message naming the variable). An https ISSUER means production, where development defaults are refused.
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, isProduction, loadConfig, refuseDevelopmentDefaults } from '@quartet/common';

export const DEV_KEY_ENCRYPTION_SECRET = 'dev-only-key-encryption-secret-change-me';
export const DEV_DEMO_CLIENT_SECRET = 'demo-client-secret';
/** scrypt cost (N) for new password hashes; 2^15 with r=8, p=3 follows the OWASP password storage cheat sheet. */
export const DEFAULT_SCRYPT_N = 32768;
const MIN_PRODUCTION_SCRYPT_N = 16384;

const HttpUrl = (defaultValue: string) => Type.String({ default: defaultValue, pattern: '^https?://[^\\s]+$' });

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ default: 9000, minimum: 0, maximum: 65535 }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  ISSUER: HttpUrl('http://localhost:9000'),
  DATABASE_URL: Type.String({ default: 'postgresql://postgres@127.0.0.1:5432/quartet_auth', pattern: '^postgres(ql)?://' }),
  /** redis://… or rediss://…; `memory://` keeps codes and sessions in-process (one instance only, no Redis). */
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379', pattern: '^(rediss?|memory)://' }),
  REDIS_PREFIX: Type.String({ default: 'quartet:as:' }),
  RESOURCE_AUDIENCE: HttpUrl('http://localhost:9100'),
  KEY_ENCRYPTION_SECRET: Type.String({ default: DEV_KEY_ENCRYPTION_SECRET, minLength: 16 }),
  DEMO_CLIENT_SECRET: Type.String({ default: DEV_DEMO_CLIENT_SECRET, minLength: 8 }),
  DEMO_CLIENT_REDIRECT_URI: HttpUrl('http://localhost:3000/callback'),
  WORKSHOP_CLI_REDIRECT_URI: HttpUrl('http://127.0.0.1:8765/callback'),
  ACCESS_TOKEN_TTL: Type.Integer({ default: 300, minimum: 1, maximum: 86400 }),
  AUTHORIZATION_CODE_TTL: Type.Integer({ default: 60, minimum: 1, maximum: 600 }),
  LOGIN_SESSION_TTL: Type.Integer({ default: 3600, minimum: 1 }),
  /** How long a validated authorization request waits for login and consent. */
  AUTHORIZATION_REQUEST_TTL: Type.Integer({ default: 600, minimum: 1, maximum: 3600 }),
  /** scrypt N for new password hashes (a power of two); tests lower it to stay fast. */
  PASSWORD_SCRYPT_N: Type.Integer({ default: DEFAULT_SCRYPT_N, minimum: 2, maximum: 1048576 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
});

export type Config = Static<typeof ConfigSchema>;

function checkUrl(name: string, value: string, rules: { noQuery?: boolean } = {}): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`Invalid configuration: ${name} must be an absolute URL (got "${value}")`);
  }
  if (rules.noQuery && (url.search || url.hash || value.endsWith('/'))) {
    // RFC 8414 §2: the issuer is an https URL with no query or fragment; a trailing slash would change `iss`.
    throw new ConfigError(`Invalid configuration: ${name} must have no query, fragment or trailing slash (got "${value}")`);
  }
}

/** Reads and checks the configuration; throws ConfigError naming the offending variable. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = loadConfig(ConfigSchema, env);
  checkUrl('ISSUER', config.ISSUER, { noQuery: true });
  checkUrl('RESOURCE_AUDIENCE', config.RESOURCE_AUDIENCE);
  checkUrl('DEMO_CLIENT_REDIRECT_URI', config.DEMO_CLIENT_REDIRECT_URI);
  checkUrl('WORKSHOP_CLI_REDIRECT_URI', config.WORKSHOP_CLI_REDIRECT_URI);
  if ((config.PASSWORD_SCRYPT_N & (config.PASSWORD_SCRYPT_N - 1)) !== 0) {
    throw new ConfigError('Invalid configuration: PASSWORD_SCRYPT_N must be a power of two');
  }
  refuseDevelopmentDefaults(config.ISSUER, {
    KEY_ENCRYPTION_SECRET: { value: config.KEY_ENCRYPTION_SECRET, devDefault: DEV_KEY_ENCRYPTION_SECRET },
    DEMO_CLIENT_SECRET: { value: config.DEMO_CLIENT_SECRET, devDefault: DEV_DEMO_CLIENT_SECRET },
  });
  if (isProduction(config.ISSUER) && config.PASSWORD_SCRYPT_N < MIN_PRODUCTION_SCRYPT_N) {
    throw new ConfigError(`Invalid configuration: PASSWORD_SCRYPT_N below ${MIN_PRODUCTION_SCRYPT_N} is refused when ISSUER is https`);
  }
  return config;
}
