// DPoP server nonces (RFC 9449 §8) without server state. A nonce is the HMAC-SHA256 of the current time slot
// (NONCE_SLOT_SECONDS long) under a key derived from KEY_ENCRYPTION_SECRET by HKDF with its own label (so it is
// not the key that encrypts the signing keys), so every instance with the same secret computes the same nonce and
// nothing is stored, shared or cleaned up. The nonce of a slot is accepted during that slot and the next one: a
// nonce handed out works for at least one slot (60 s) and at most two (120 s) — long enough for the client's retry
// and its following requests (§8.2: a client uses the most recent nonce it was given), short enough that a proof
// made in advance stops working soon (§11.1). Instances' clocks must agree to within a few seconds; right at a
// slot boundary a late instance may refuse a nonce an early one just gave out, once: its use_dpop_nonce answer
// carries its own nonce, which every instance accepts, and the client retries with it.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const NONCE_SLOT_SECONDS = 60;
const HKDF_SALT = 'quartet-authorization-server';
const HKDF_INFO = 'dpop-nonce-v1';
/** base64url of a SHA-256 HMAC: 43 characters, all within RFC 9449 §8.1's NQCHAR. */
const NONCE_LENGTH = 43;

export class DpopNonces {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, HKDF_INFO, 32));
  }

  /** The nonce to give out now (the DPoP-Nonce header, §8.1). */
  current(): string {
    return this.nonceOf(this.slot());
  }

  /** Whether a proof's nonce claim is one this server gave out in the current or the previous slot. */
  accepts(nonce: string | undefined): boolean {
    if (typeof nonce !== 'string' || nonce.length !== NONCE_LENGTH) return false;
    const presented = Buffer.from(nonce);
    const slot = this.slot();
    // Both compared, in constant time, so timing tells nothing about which slot matched.
    const matches = [slot, slot - 1].map((s) => timingSafeEqual(presented, Buffer.from(this.nonceOf(s))));
    return matches.includes(true);
  }

  private slot(): number {
    return Math.floor(this.now() / 1000 / NONCE_SLOT_SECONDS);
  }

  private nonceOf(slot: number): string {
    return createHmac('sha256', this.key).update(`dpop-nonce ${slot}`).digest('base64url');
  }
}
