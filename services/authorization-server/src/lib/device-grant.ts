// The device authorization grant's name (RFC 8628 §3.4) and its user codes (§6.1): what a person reads off
// a device and types on the verification page, so short, unambiguous and case-insensitive, yet too many to
// guess (guessing is also throttled, see routes/device.ts).
import { randomInt } from 'node:crypto';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Consonants only (no vowels, so no words; no I/O/0/1 look-alikes): 20^8 ≈ 2^34.6 codes of 8 letters. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;

/** A normalised user code: 8 letters of USER_CODE_ALPHABET (crypto.randomInt draws without modulo bias). */
export function generateUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/** How a user code is shown: two groups of four, `WDJB-MJHT` (RFC 8628 §6.1). */
export const displayUserCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`;

/**
 * The user code as typed, normalised: case-insensitive, and dashes and spaces (punctuation a person adds or
 * copies) ignored (RFC 8628 §6.1). Null when it cannot be a user code at all (wrong length or letters), which
 * the page can say without looking anything up.
 */
export function normaliseUserCode(typed: string): string | null {
  const code = typed.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== USER_CODE_LENGTH) return null;
  return [...code].every((c) => USER_CODE_ALPHABET.includes(c)) ? code : null;
}
