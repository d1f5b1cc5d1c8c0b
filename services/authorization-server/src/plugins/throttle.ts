// Throttled guessing (RFC 6749 §10.10 and §2.3.1, RFC 9700 §4, OWASP ASVS V2.2): failed logins are counted
// per account and per client address, failed client authentications per client. Past a limit within
// THROTTLE_WINDOW the key is blocked: every attempt (a right one too, or the block would tell an attacker
// when a guess was right) is refused with 429 + Retry-After until the block ends. Each further block of the
// same key doubles, up to THROTTLE_MAX_BLOCK; a successful login clears its account's record.
//
// Counters live in Redis when the service has it (shared by every replica) and in this process otherwise,
// through rate-limiter-flexible (the counting, TTLs and blocking, atomic in Redis by a Lua script). Only
// counted failures create keys: failed client authentications only for registered clients, failed logins
// per address key (addressKey: an IPv6 address counts by its /64), so the number of keys is bounded by real
// accounts, clients and networks, not by what requests make up.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RedisKeyValueStore, guardStorage } from '@quartet/common';

export interface ThrottleRule {
  /** Failures allowed within `windowSeconds` before the key is blocked. */
  limit: number;
  windowSeconds: number;
  /** First block, seconds; it doubles with each further block of the same key. */
  blockSeconds: number;
  maxBlockSeconds: number;
}

/** How long a further block episode is remembered for growing the back-off. */
const EPISODE_MEMORY_SECONDS = 24 * 3600;
/** Keys remembered as "not blocked" at most (see `recheckMs`); beyond it the memory starts afresh. */
const MAX_REMEMBERED = 10_000;

export class FailureThrottle {
  /** Keys found not blocked, and when: within `recheckMs` they are not asked about again. */
  private readonly clear = new Map<string, number>();

  /**
   * `recheckMs`: how long a "not blocked" answer is reused by this instance (0: ask every time). The token
   * endpoint is the hottest path and nearly every request there is a success: one look-up per client and
   * second spares the round trip, at the price that a block another replica starts applies here up to that
   * much later (the failures themselves are always counted in the shared store, and this instance's own
   * failures apply at once).
   */
  constructor(
    private readonly failures: RateLimiterAbstract,
    private readonly episodes: RateLimiterAbstract,
    readonly rule: ThrottleRule,
    private readonly recheckMs = 0,
  ) {}

  /** Seconds until `key` may be tried again (0: it may be tried now). */
  async blockedFor(key: string): Promise<number> {
    const checkedAt = this.clear.get(key);
    if (checkedAt !== undefined && Date.now() - checkedAt < this.recheckMs) return 0;
    const res = await guardStorage('redis', () => this.failures.get(key));
    // A blocked key holds more than `limit` failures (rate-limiter-flexible's block sets limit + 1).
    if (!res || res.consumedPoints <= this.rule.limit) {
      if (this.recheckMs > 0) {
        if (this.clear.size >= MAX_REMEMBERED) this.clear.clear();
        this.clear.set(key, Date.now());
      }
      return 0;
    }
    return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  }

  /** Counts a failure; returns the seconds of the block it started, or 0 when the key may go on trying. */
  async fail(key: string): Promise<number> {
    this.clear.delete(key);
    const res = await guardStorage('redis', () => this.failures.penalty(key, 1));
    if (res.consumedPoints < this.rule.limit) return 0;
    if (res.consumedPoints > this.rule.limit) return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    // Exactly at the limit: this failure starts a block, longer for each earlier one.
    const episode = await guardStorage('redis', () => this.episodes.penalty(key, 1));
    const seconds = Math.min(this.rule.blockSeconds * 2 ** (episode.consumedPoints - 1), this.rule.maxBlockSeconds);
    await guardStorage('redis', () => this.failures.block(key, seconds));
    return seconds;
  }

  /** Forgets the key's failures and earlier blocks (after a successful login). */
  async reset(key: string): Promise<void> {
    await guardStorage('redis', () => Promise.all([this.failures.delete(key), this.episodes.delete(key)]));
  }
}

/** Usernames count case-insensitively, so "Alice" and "alice" share one budget of guesses. */
export const accountKey = (username: string) => username.normalize('NFC').trim().toLowerCase();

export interface Throttles {
  loginAccount: FailureThrottle;
  loginAddress: FailureThrottle;
  client: FailureThrottle;
  /** Wrong user codes typed on the device verification page, per client address (RFC 8628 §5.1). */
  userCode: FailureThrottle;
}

declare module 'fastify' {
  interface FastifyInstance {
    throttles: Throttles;
  }
}

/** How long a client found not blocked is not asked about again by this instance (see FailureThrottle). */
export const CLIENT_RECHECK_MS = 1000;

export default fp(
  async (app: FastifyInstance) => {
    const c = app.config;
    const redis = app.kv instanceof RedisKeyValueStore ? app.kv.client : null;
    const limiter = (keyPrefix: string, points: number, duration: number): RateLimiterAbstract =>
      redis
        ? new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration })
        : new RateLimiterMemory({ keyPrefix, points, duration });
    const throttle = (name: string, limit: number, recheckMs = 0) =>
      new FailureThrottle(
        limiter(`throttle:${name}`, limit, c.THROTTLE_WINDOW),
        limiter(`throttle:${name}:blocks`, 1_000_000, EPISODE_MEMORY_SECONDS),
        {
          limit,
          windowSeconds: c.THROTTLE_WINDOW,
          blockSeconds: c.THROTTLE_BLOCK,
          maxBlockSeconds: c.THROTTLE_MAX_BLOCK,
        },
        recheckMs,
      );
    app.decorate('throttles', {
      loginAccount: throttle('login-account', c.THROTTLE_LOGIN_ACCOUNT),
      loginAddress: throttle('login-address', c.THROTTLE_LOGIN_ADDRESS),
      client: throttle('client', c.THROTTLE_CLIENT, CLIENT_RECHECK_MS),
      userCode: throttle('user-code', c.THROTTLE_USER_CODE),
    });
  },
  { name: 'throttle', dependencies: ['config', 'kv-store'] },
);
