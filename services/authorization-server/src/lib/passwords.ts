// User passwords: scrypt (node:crypto) with a per-user random salt, compared in constant time.
// Format: scrypt$N$r$p$salt$hash (salt and hash base64url), so the cost can be raised later without
// invalidating stored hashes: verification always uses the parameters stored with the hash.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
const R = 8;
const P = 3;

function scrypt(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem must exceed 128 * N * r, otherwise Node refuses the default-cost parameters.
    const maxmem = 256 * (options.N ?? 16384) * (options.r ?? 8);
    scryptCallback(password.normalize('NFC'), salt, KEY_LENGTH, { ...options, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(password: string, cost: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, { N: cost, r: R, p: P });
  return ['scrypt', cost, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/**
 * A well-formed hash with `cost` that no password matches: random salt and random key, so verifying against
 * it costs exactly one scrypt run at that cost (what an unknown username must cost) and fails except with
 * probability 2^-256. Built without running scrypt, so start-up neither waits for one nor allocates its
 * 128 * N * r bytes (32 MiB at the default cost) just to make a decoy.
 */
export function unmatchableHash(cost: number): string {
  return [
    'scrypt',
    cost,
    R,
    P,
    randomBytes(16).toString('base64url'),
    randomBytes(KEY_LENGTH).toString('base64url'),
  ].join('$');
}

/** True when `password` matches `stored`; false for any malformed hash (never throws on bad input). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (!N || !r || !p || expected.length !== KEY_LENGTH) return false;
  const actual = await scrypt(password, salt, { N, r, p });
  return timingSafeEqual(actual, expected);
}
