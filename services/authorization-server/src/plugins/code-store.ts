// Authorization codes (RFC 6749 §4.1.2, §10.5): 256 random bits, kept for AUTHORIZATION_CODE_TTL and
// redeemable at most once. The store key is a hash of the code, so a dump of Redis yields no usable code;
// consume() uses the store's atomic take (GETDEL), so of two concurrent redemptions only one succeeds.
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

export interface CodeStore {
  save(code: string, data: CodeData, ttlSeconds: number): Promise<void>;
  /** Returns the data and forgets the code; null when unknown, expired or already used. */
  consume(code: string): Promise<CodeData | null>;
}

export class KeyValueCodeStore implements CodeStore {
  constructor(private readonly kv: KeyValueStore) {}

  private key(code: string): string {
    return `code:${hashToken(code)}`;
  }

  async save(code: string, data: CodeData, ttlSeconds: number): Promise<void> {
    await this.kv.set(this.key(code), JSON.stringify(data), ttlSeconds);
  }

  async consume(code: string): Promise<CodeData | null> {
    const raw = await this.kv.take(this.key(code));
    return raw ? (JSON.parse(raw) as CodeData) : null;
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
    app.decorate('codes', new KeyValueCodeStore(app.kv));
  },
  { name: 'code-store', dependencies: ['kv-store'] },
);
