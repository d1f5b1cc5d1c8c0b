// What the misbehaving client makes up: PKCE pairs (RFC 7636 §4.1-4.2) and tokens it tampered with, the way
// an attacker would (RFC 8725 §3.1 alg "none"; an edited payload under the original signature).
import { createHash, randomBytes } from 'node:crypto';

export function newVerifier(): string {
  return randomBytes(32).toString('base64url');
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** A random state (RFC 6749 §10.12), as a well-behaved client would send. */
export function newState(): string {
  return randomBytes(16).toString('base64url');
}

/** A JWT with alg "none" and no signature, claims untouched. */
export function algNone(token: string): string {
  const [, payload] = token.split('.');
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
  return `${header}.${payload}.`;
}

/** The same JWT with its scope claim widened, original signature kept. */
export function editedPayload(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
  claims.scope = 'photos:read photos:write documents:read documents:write';
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}
