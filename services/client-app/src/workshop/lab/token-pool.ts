// Genuine access tokens the lab obtained, kept for the "expired token" switch (they never leave the server):
// the switch uses the one that expires first instead of waiting a whole token lifetime.
import { decodeJwt } from '../inspector/present.js';

/** How many genuine access tokens the lab keeps. */
const POOL_SIZE = 50;

export class TokenPool {
  private readonly tokens: { token: string; exp: number }[] = [];

  add(token: string): void {
    const exp = decodeJwt(token)?.claims.exp;
    if (typeof exp !== 'number') return;
    this.tokens.push({ token, exp });
    this.tokens.sort((a, b) => a.exp - b.exp);
    if (this.tokens.length > POOL_SIZE) this.tokens.splice(0, this.tokens.length - POOL_SIZE);
  }

  /** The token that expires (or expired) first. */
  earliest(): { token: string; exp: number } | undefined {
    return this.tokens[0];
  }
}
