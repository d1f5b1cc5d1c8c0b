// PKCE (RFC 7636) with S256 only, as OAuth 2.1 / RFC 9700 §2.1.1 require.
import { createHash, timingSafeEqual } from 'node:crypto';

/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is always 43 characters of the base64url alphabet. */
export const CODE_CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** RFC 7636 §4.1: code_verifier = 43*128unreserved. */
export const CODE_VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** RFC 7636 §4.6: the server recomputes the challenge from the verifier and compares. */
export function verifierMatches(verifier: string, challenge: string | null): boolean {
  // A grant from a device code (RFC 8628) has no challenge: no verifier matches it.
  if (challenge === null) return false;
  const a = Buffer.from(s256(verifier));
  const b = Buffer.from(challenge);
  return a.length === b.length && timingSafeEqual(a, b);
}
