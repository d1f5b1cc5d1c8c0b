// private_key_jwt (RFC 7523 §2.2, OpenID Connect Core §9): with CLIENT_PRIVATE_KEY set, the app authenticates to
// the authorization server with a JWT it signs for each request instead of the client secret, as the FAPI 2.0
// Security Profile (§5.3.2.1) requires of confidential clients. The setting is the private JWK (RFC 7517) whose
// public half is registered with the client (its jwks, e.g. `npm run clients -- register --jwks-file`). oauth4webapi
// builds and signs the assertion (iss = sub = client_id, aud = the issuer, a fresh jti, a short exp); this file only
// reads the setting and imports the key.
import { webcrypto } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { ConfigError } from '@quartet/common';

type JsonWebKey = webcrypto.JsonWebKey;

/**
 * The signing algorithm for a key, and how WebCrypto imports it. Only what the authorization server's allow-list
 * takes (ES256, ES384, PS256, PS384, EdDSA/Ed25519): RSA keys sign with PSS, never RS256 (FAPI 2.0 §5.4.1).
 */
const ALGORITHMS: Record<string, webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | { name: string }> = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  ES384: { name: 'ECDSA', namedCurve: 'P-384' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  PS384: { name: 'RSA-PSS', hash: 'SHA-384' },
  Ed25519: { name: 'Ed25519' },
};

export interface ClientPrivateKey {
  jwk: JsonWebKey & { kid: string };
  /** The JWS alg the assertions are signed with. */
  alg: keyof typeof ALGORITHMS;
}

const refuse = (problem: string) => new ConfigError(`Invalid configuration: CLIENT_PRIVATE_KEY ${problem}.`);

/** The alg a key signs with: its own `alg` member when it names one we sign with, else the usual one for its type. */
function algorithmOf(jwk: JsonWebKey): ClientPrivateKey['alg'] {
  if (jwk.alg !== undefined) {
    const alg = jwk.alg === 'EdDSA' ? 'Ed25519' : jwk.alg;
    if (!(alg in ALGORITHMS)) throw refuse(`has alg ${jwk.alg}; use one of ${Object.keys(ALGORITHMS).join(', ')}`);
    return alg as ClientPrivateKey['alg'];
  }
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'Ed25519';
  if (jwk.kty === 'RSA') return 'PS256';
  throw refuse('must be an EC P-256 or P-384, Ed25519 or RSA key');
}

/**
 * Reads the setting at start: a private JWK (it has `d`) with a `kid`, which the assertion's header names so the
 * authorization server picks the registered key (RFC 7515 §4.1.4). Throws ConfigError naming the setting.
 */
export function readClientPrivateKey(value: string): ClientPrivateKey {
  let jwk: unknown;
  try {
    jwk = JSON.parse(value);
  } catch {
    throw refuse('must be a private JWK as JSON (RFC 7517)');
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw refuse('must be a private JWK as JSON (RFC 7517)');
  const key = jwk as JsonWebKey & { kid?: unknown };
  if (typeof key.d !== 'string') throw refuse('must be the private key (a JWK with d), not its public half');
  if (typeof key.kid !== 'string' || key.kid === '')
    throw refuse('needs a kid: the assertion names it so the authorization server finds the registered key');
  return { jwk: key as ClientPrivateKey['jwk'], alg: algorithmOf(key) };
}

/** oauth4webapi's private_key_jwt client authentication with the key imported (not extractable). */
export async function privateKeyJwt(key: ClientPrivateKey): Promise<oauth.ClientAuth> {
  let privateKey: webcrypto.CryptoKey;
  try {
    privateKey = await webcrypto.subtle.importKey('jwk', key.jwk, ALGORITHMS[key.alg]!, false, ['sign']);
  } catch (err) {
    throw refuse(`is not a usable ${key.alg} private key (${(err as Error).message})`);
  }
  return oauth.PrivateKeyJwt({ key: privateKey, kid: key.jwk.kid });
}
