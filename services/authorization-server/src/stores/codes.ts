// Authorization codes (RFC 6749 §4.1.2, §10.5): 256 random bits, kept for AUTHORIZATION_CODE_TTL and
// redeemable at most once. The store key is a hash of the code, so a dump of Redis yields no usable code.
// redeem() claims the code atomically (the store's claim: SET NX of a marker with the read, in one step), so
// of two concurrent redemptions exactly one is first; the code's data stays readable until it expires, so a
// replay that arrives before the first redemption has recorded its grant can still be recognised (same
// client, right verifier) and recorded, and the first redemption's tokens revoked (see token-grants.ts).
// The store says what it found (the data, and whether this claim was the first); the token endpoint decides.
import { randomBytes } from 'node:crypto';
import type { KeyValueStore } from '@quartet/common';
import type { CodeData, Redemption } from '../domain/records.js';
import { hashToken } from '../lib/token-hash.js';

export interface CodeStore {
  save(code: string, data: CodeData): Promise<void>;
  /** Claims the code: `first` for exactly one redemption; the data stays readable until the code expires. */
  redeem(code: string): Promise<Redemption>;
}

export class KeyValueCodeStore implements CodeStore {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly ttlSeconds: number,
  ) {}

  private key(code: string): string {
    return `code:${hashToken(code)}`;
  }

  async save(code: string, data: CodeData): Promise<void> {
    await this.kv.set(this.key(code), JSON.stringify(data), this.ttlSeconds);
  }

  async redeem(code: string): Promise<Redemption> {
    // The claim marker lives as long as a code can: never shorter than the data it guards.
    const { value, first } = await this.kv.claim(this.key(code), this.ttlSeconds);
    return { data: value ? (JSON.parse(value) as CodeData) : null, first: first && value !== null };
  }
}

export function generateCode(): string {
  return randomBytes(32).toString('base64url');
}
