// Client secrets are high-entropy (256 bits, or the configured demo secret), so a fast hash suffices:
// stored as SHA-256 hex and compared with crypto.timingSafeEqual (RFC 6749 §2.3.1, RFC 9700 §2.5).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

// Compared against when the client is unknown or public, so every failed authentication costs the same.
const NO_SECRET_HASH = hashClientSecret(randomBytes(32).toString('hex'));

/** Constant-time check of a presented secret against a stored hash (null hash never matches). */
export function clientSecretMatches(presented: string, storedHash: string | null): boolean {
  const actual = Buffer.from(hashClientSecret(presented), 'hex');
  const expected = Buffer.from(storedHash ?? NO_SECRET_HASH, 'hex');
  const same = expected.length === actual.length && timingSafeEqual(actual, expected);
  return same && storedHash !== null;
}
