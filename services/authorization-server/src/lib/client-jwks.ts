// The public keys of a private_key_jwt client (RFC 7523 §2.2; RFC 7591 §2 jwks and jwks_uri): the checks of a
// JWK Set (RFC 7517 §5) whether it is registered inline or fetched from the client's jwks_uri, and of a jwks_uri.
// Only asymmetric signing keys of the kinds the assertion algorithms need are accepted: EC P-256 (ES256), EC P-384
// (ES384), RSA of at least 2048 bits (PS256, PS384; RFC 7518 §3.5, NIST SP 800-131A) and OKP Ed25519 (EdDSA,
// Ed25519: RFC 8037, RFC 9864). A key with a private member is refused: it would mean the client published (or
// sent us) its private key. Each key is imported with node:crypto, so a malformed key is refused at registration
// rather than at its first use.
import { createPublicKey } from 'node:crypto';
import type { JSONWebKeySet, JWK } from 'jose';

/**
 * The algorithms a client assertion may be signed with, by key type: asymmetric only (never none or a MAC, RFC
 * 8725 §3.1), and no RS256 (RSASSA-PKCS1-v1_5): FAPI 2.0 §5.4 allows only PS256, ES256 and EdDSA, and a client
 * with an RSA key signs PS256 with the same key.
 */
const ALGORITHMS_BY_KEY: Record<string, readonly string[]> = {
  'EC P-256': ['ES256'],
  'EC P-384': ['ES384'],
  RSA: ['PS256', 'PS384'],
  'OKP Ed25519': ['EdDSA', 'Ed25519'],
};
export const CLIENT_ASSERTION_ALGORITHMS: readonly string[] = ['ES256', 'ES384', 'PS256', 'PS384', 'EdDSA', 'Ed25519'];

/** Keys a client may register (it needs two at most while it rotates). */
export const MAX_JWKS_KEYS = 10;
/** An inline jwks, serialized (a registration body is at most 16 KB; ten RSA-4096 keys take about 7.5 KB). */
export const MAX_JWKS_BYTES = 12 * 1024;
/** A JWK Set document fetched from a jwks_uri: larger than a client metadata document (x5c chains). */
export const MAX_FETCHED_JWKS_BYTES = 32 * 1024;
export const MAX_JWKS_URI_LENGTH = 2000;
export const MIN_RSA_BITS = 2048;
const MAX_KID_LENGTH = 255;
/** RFC 7517 §6.2.2, §6.3.2, RFC 7518 §6.4.1: members that hold private or symmetric key material. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A key meant for something other than verifying signatures (RFC 7517 §4.2 use, §4.3 key_ops). */
function notForSignatures(key: Record<string, unknown>): boolean {
  return (
    (key.use !== undefined && key.use !== 'sig') ||
    (key.key_ops !== undefined && !(Array.isArray(key.key_ops) && key.key_ops.includes('verify')))
  );
}

/** Why `key` (number `n`, from 1) cannot verify client assertions, or null when it can. */
function keyProblem(key: unknown, n: number): string | null {
  if (!isObject(key)) return `key ${n} is not a JSON object`;
  const secret = PRIVATE_MEMBERS.find((member) => member in key);
  if (secret !== undefined)
    return `key ${n} holds private or symmetric key material ('${secret}'): register public keys only`;
  const kind = key.kty === 'EC' || key.kty === 'OKP' ? `${String(key.kty)} ${String(key.crv)}` : String(key.kty);
  const algorithms = ALGORITHMS_BY_KEY[kind];
  if (!algorithms) return `key ${n} is not an EC P-256 or P-384, RSA or OKP Ed25519 public key`;
  if (notForSignatures(key)) return `key ${n} is not a signing key (its use must be sig, its key_ops include verify)`;
  if (key.alg !== undefined && !(typeof key.alg === 'string' && algorithms.includes(key.alg)))
    return `key ${n} has an alg other than ${algorithms.join(' or ')}`;
  if (key.kid !== undefined && !(typeof key.kid === 'string' && key.kid.length > 0 && key.kid.length <= MAX_KID_LENGTH))
    return `key ${n} has a kid that is not a string of 1-${MAX_KID_LENGTH} characters`;
  let imported;
  try {
    imported = createPublicKey({ key: key as JWK & { kty: string }, format: 'jwk' });
  } catch {
    return `key ${n} is not a valid ${kind} public key`;
  }
  const bits = imported.asymmetricKeyDetails?.modulusLength;
  if (key.kty === 'RSA' && (bits ?? 0) < MIN_RSA_BITS)
    return `key ${n} is an RSA key of ${bits} bits (at least ${MIN_RSA_BITS} are needed)`;
  return null;
}

export type JwksCheck = { jwks: JSONWebKeySet; problem?: undefined } | { jwks?: undefined; problem: string };

/**
 * Checks a JWK Set a client registers (`registered`) or publishes at its jwks_uri (`fetched`): 1 to MAX_JWKS_KEYS
 * signing keys, each as keyProblem asks, kids unique. A published set may also hold keys for other purposes
 * (encryption: RFC 7517 §4.2 use enc), which are left out of what it returns; a registered one may not.
 */
export function checkJwks(value: unknown, origin: 'registered' | 'fetched'): JwksCheck {
  if (!isObject(value) || !Array.isArray(value.keys)) return { problem: 'jwks must be a JWK Set: an object with keys' };
  if (origin === 'registered' && Buffer.byteLength(JSON.stringify(value)) > MAX_JWKS_BYTES)
    return { problem: `jwks must be at most ${MAX_JWKS_BYTES} bytes` };
  const keys: unknown[] =
    origin === 'fetched' ? value.keys.filter((key) => !(isObject(key) && notForSignatures(key))) : value.keys;
  if (keys.length === 0) return { problem: 'jwks holds no signing key' };
  if (keys.length > MAX_JWKS_KEYS) return { problem: `jwks may hold at most ${MAX_JWKS_KEYS} signing keys` };
  const kids = new Set<unknown>();
  for (const [i, key] of keys.entries()) {
    const problem = keyProblem(key, i + 1);
    if (problem) return { problem: `jwks ${problem}` };
    const { kid } = key as JWK;
    if (kid !== undefined && kids.has(kid)) return { problem: `jwks key ${i + 1} repeats the kid of another key` };
    kids.add(kid);
  }
  return { jwks: origin === 'fetched' ? { keys: keys as JWK[] } : (value as unknown as JSONWebKeySet) };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Why `uri` cannot be a client's jwks_uri, or null when it can: the rules of client metadata document URLs (https;
 * http only on a loopback host and only with a development issuer; no fragment, no user or password), since it is
 * fetched through the same guard (lib/metadata-document-fetch.ts).
 */
export function jwksUriProblem(uri: unknown, allowLoopbackHttp: boolean): string | null {
  if (typeof uri !== 'string' || uri.length === 0 || uri.length > MAX_JWKS_URI_LENGTH || !URL.canParse(uri))
    return `jwks_uri must be an absolute URL of at most ${MAX_JWKS_URI_LENGTH} characters`;
  const url = new URL(uri);
  const loopbackHttp = allowLoopbackHttp && url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !loopbackHttp)
    return allowLoopbackHttp
      ? 'jwks_uri must use https (http only on localhost or a loopback address, with a development issuer)'
      : 'jwks_uri must use https';
  if (uri.includes('#')) return 'jwks_uri must not contain a fragment';
  if (url.username || url.password) return 'jwks_uri must not contain a username or password';
  return null;
}
