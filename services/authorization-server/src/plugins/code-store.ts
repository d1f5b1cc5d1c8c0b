// Authorization codes (RFC 6749 §4.1.2, §10.5): 256 random bits, kept for AUTHORIZATION_CODE_TTL and
// redeemable at most once. The store key is a hash of the code, so a dump of Redis yields no usable code.
// redeem() claims the code atomically (the store's claim: SET NX of a marker with the read, in one step), so
// of two concurrent redemptions exactly one is first; the code's data stays readable until it expires, so a
// replay that arrives before the first redemption has recorded its grant can still be recognised (same
// client, right verifier) and recorded, and the first redemption's tokens revoked (see token-grants.ts).
import { randomBytes } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { KeyValueStore, TraceStep } from '@quartet/common';
import { hashToken } from '../lib/token-hash.js';

/** Everything the token endpoint must check the redemption against. */
export interface CodeData {
  clientId: string;
  userId: string;
  redirectUri: string;
  /** Whether redirect_uri was sent in the authorization request (RFC 6749 §4.1.3). */
  redirectUriProvided: boolean;
  codeChallenge: string;
  scopes: string[];
  /** RFC 8707 resource (token audience). */
  resource: string;
  /** Workshop mode: the browser-leg steps, added to the trace of the request that redeems the code. */
  workshopSteps?: TraceStep[];
}

/** What a redemption found: the code's data (null when unknown or expired) and whether it was the first. */
export interface Redemption {
  data: CodeData | null;
  first: boolean;
}

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

declare module 'fastify' {
  interface FastifyInstance {
    codes: CodeStore;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    app.decorate('codes', new KeyValueCodeStore(app.kv, app.config.AUTHORIZATION_CODE_TTL));
  },
  { name: 'code-store', dependencies: ['config', 'kv-store'] },
);
