// Reading environment variables the same way in all three services: the spelling of flags, what an empty
// value means, and the checks every URL setting gets. Each service's config.ts declares its schema and calls
// these before and after `loadConfig`, so a bad value stops the process with a message naming the variable.
import { ConfigError } from './config.js';

/**
 * Before validation. Flags accept true/false/1/0 in any case (Ajv alone coerces only "true"/"false");
 * an empty flag or optional variable (`REDIS_URL= npm start`, a .env template) means unset, not invalid.
 */
export function normaliseEnv(
  env: NodeJS.ProcessEnv,
  variables: { flags?: readonly string[]; optional?: readonly string[] },
): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of variables.flags ?? []) {
    const value = out[name]?.trim().toLowerCase();
    if (value === undefined) continue;
    if (value === '') delete out[name];
    else out[name] = value === '1' ? 'true' : value === '0' ? 'false' : value;
  }
  for (const name of variables.optional ?? []) if (out[name]?.trim() === '') delete out[name];
  return out;
}

export interface UrlRules {
  /** Allowed schemes; default http: and https:; 'any' for an absolute URI of any scheme (RFC 8707 §2). */
  protocols?: readonly string[] | 'any';
  /**
   * An identifier compared byte for byte (an issuer, RFC 8414 §2; a resource identifier, RFC 8707 §2): no
   * query, no fragment. Other URLs may carry a query.
   */
  identifier?: boolean;
}

/** Throws ConfigError naming `name` unless `value` is an absolute URL within `rules`; returns it parsed. */
export function checkUrl(name: string, value: string, rules: UrlRules = {}): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`Invalid configuration: ${name} must be an absolute URL (got "${value}")`);
  }
  const protocols = rules.protocols ?? ['http:', 'https:'];
  if (protocols !== 'any' && !protocols.includes(url.protocol)) {
    const names = protocols.map((p) => p.replace(/:$/, '')).join(' or ');
    throw new ConfigError(`Invalid configuration: ${name} must be an ${names} URL (got "${value}")`);
  }
  if (rules.identifier && (url.search || url.hash || value.includes('?') || value.includes('#'))) {
    throw new ConfigError(`Invalid configuration: ${name} must not contain a query or fragment (got "${value}")`);
  }
  return url;
}

/** A base URL without trailing slashes, so `${base}/callback` never has `//` (redirect URIs match exactly). */
export function withoutTrailingSlash(value: string): string {
  return value.replace(/\/+$/, '');
}

/** A comma-separated list setting (blanks ignored). */
export function listSetting(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}
