// Security profiles: one setting, PROFILE, that switches a service to a published profile's rules instead of
// setting each rule by hand. `default` is Quartet's own (OAuth 2.1 / RFC 9700); `fapi2` is the FAPI 2.0
// Security Profile (OpenID Foundation, final, February 2025), which asks of an authorization server pushed
// authorization requests, PKCE S256, sender-constrained tokens (DPoP here; mutual TLS is out of scope),
// private_key_jwt and confidential clients only, and of a resource server sender-constrained tokens only.
// docs/security.md lists which parts of FAPI 2.0 each service covers and which not.
import { ConfigError } from './config.js';

export const PROFILES = ['default', 'fapi2'] as const;
export type Profile = (typeof PROFILES)[number];

/**
 * FAPI 2.0 Security Profile §5.4.1: JWS algorithms are PS256, ES256 or EdDSA with Ed25519, nothing else; Ed25519 is
 * the fully specified name of the last (RFC 9864), which oauth4webapi and openid-client sign Ed25519 keys with.
 */
export const FAPI2_ALGORITHMS: readonly string[] = ['ES256', 'PS256', 'EdDSA', 'Ed25519'];

/**
 * Settings a profile fixes: each is set to the profile's value in `env` (a copy), and a value the operator set
 * to something else stops the start with a message naming both, rather than being silently overridden or
 * silently weakening the profile. `env` is expected normalised (flags spelled true/false, see normaliseEnv).
 */
export function applyProfile(
  env: NodeJS.ProcessEnv,
  profile: string | undefined,
  fixed: Readonly<Record<string, string>>,
): NodeJS.ProcessEnv {
  if (profile === undefined || profile === 'default') return env;
  const out = { ...env };
  for (const [name, value] of Object.entries(fixed)) {
    const given = out[name];
    if (given !== undefined && given !== value) {
      throw new ConfigError(
        `Invalid configuration: PROFILE=${profile} requires ${name}=${value} (got "${given}"); leave ${name} unset`,
      );
    }
    out[name] = value;
  }
  return out;
}
