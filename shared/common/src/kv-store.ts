// Short-lived state (authorization codes, login sessions, CSRF-bound flow state) lives behind this small
// interface so that Redis and an in-process store are interchangeable.
import { Redis, type RedisOptions } from 'ioredis';
import { BusyError, guardStorage } from './errors.js';

/**
 * A key space with a cap on its live keys (pending requests, sessions: state anyone can make the service
 * keep). When it is full, a new key is refused with StoreFullError (503 + Retry-After) instead of memory
 * growing without bound.
 */
export interface KeySpace {
  name: string;
  maxEntries: number;
}

/** A capped key space is full: answered 503 temporarily_unavailable with Retry-After. */
export class StoreFullError extends BusyError {
  constructor(readonly space: string) {
    super('The service is holding too many pending requests right now; try again shortly.');
    this.name = 'StoreFullError';
  }
}

/** What claim() found: the value (null when unknown or expired) and whether this was the first claim. */
export interface Claim {
  value: string | null;
  first: boolean;
}

export interface KeyValueStore {
  /** Stores `value` under `key` for `ttlSeconds`, replacing any previous value. */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  get(key: string): Promise<string | null>;
  /** Returns the value and deletes it in one atomic step: of two concurrent takes, at most one gets it. */
  take(key: string): Promise<string | null>;
  delete(key: string): Promise<void>;
  /**
   * Marks `key` as claimed (for `claimTtlSeconds`) and returns its value, in one atomic step: of concurrent
   * claims exactly one is `first`, and later ones still see the value. For single-use secrets whose data a
   * replay must still be able to read (an authorization code presented twice, RFC 6749 §4.1.2).
   */
  claim(key: string, claimTtlSeconds: number): Promise<Claim>;
  /** set() for a key counted in a capped key space; throws StoreFullError when the space is full. */
  setIn(space: KeySpace, key: string, value: string, ttlSeconds: number): Promise<void>;
  /**
   * Stores `key` in a capped key space only if it is not there yet, in one atomic step: true for the first
   * add, false while the key lives. For single-use identifiers (a DPoP proof's jti, a client assertion's jti)
   * that must be remembered for a while but that a stranger can make us keep, hence the cap.
   */
  addIn(space: KeySpace, key: string, ttlSeconds: number): Promise<boolean>;
  /** take() of a key in a capped key space (it stops counting). */
  takeFrom(space: KeySpace, key: string): Promise<string | null>;
  /** delete() of a key in a capped key space (it stops counting). */
  deleteFrom(space: KeySpace, key: string): Promise<void>;
  /** Throws StorageUnavailableError when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** Human-readable description for the start-up log (never includes credentials). */
  readonly description: string;
}

/**
 * ioredis options chosen so that an outage fails fast (503) instead of queueing requests forever,
 * and so that the client reconnects by itself when Redis comes back.
 */
export function redisOptions(): RedisOptions {
  return {
    // Commands issued while (re)connecting wait in the offline queue, but only through one reconnect
    // attempt and at most commandTimeout: long enough to ride out start-up, short enough to fail fast.
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  };
}

// A capped key space in Redis: a sorted set of its keys scored by their expiry time (ms). Each script runs
// atomically on the server, so concurrent instances never push a space past its cap. Keys of a space are
// removed from its index when taken or deleted, and dropped by score once they have expired.
const SET_IN_SPACE = `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], KEYS[2]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[2], ARGV[4], 'PX', ttl)
redis.call('ZADD', KEYS[1], now + ttl, KEYS[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;
// addIn(): like SET_IN_SPACE, but a key that already lives is left alone and answered 0 (-1: the space is full).
const ADD_IN_SPACE = `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
redis.call('SET', KEYS[2], '1', 'PX', ttl)
redis.call('ZADD', KEYS[1], now + ttl, KEYS[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`;
// claim(): the value and a SET NX of the claim marker, in one atomic script (one command on the wire, where a
// MULTI would be four).
const CLAIM = `
local first = redis.call('SET', KEYS[2], '1', 'EX', ARGV[1], 'NX')
return {redis.call('GET', KEYS[1]), first and 1 or 0}`;
const TAKE_FROM_SPACE = `
local value = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], KEYS[2])
return value`;

interface QuartetCommands {
  quartetClaim(key: string, marker: string, ttlSeconds: number): Promise<[string | null, number]>;
  quartetSetIn(index: string, key: string, now: number, ttlMs: number, max: number, value: string): Promise<number>;
  quartetTakeFrom(index: string, key: string): Promise<string | null>;
  quartetAddIn(index: string, key: string, now: number, ttlMs: number, max: number): Promise<number>;
}

export class RedisKeyValueStore implements KeyValueStore {
  readonly description: string;
  private readonly redis: Redis & QuartetCommands;

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    this.redis = new Redis(url, { ...redisOptions(), keyPrefix: prefix }) as Redis & QuartetCommands;
    // ioredis applies the key prefix to a defined command's KEYS, so index and members carry it too.
    this.redis.defineCommand('quartetClaim', { numberOfKeys: 2, lua: CLAIM });
    this.redis.defineCommand('quartetSetIn', { numberOfKeys: 2, lua: SET_IN_SPACE });
    this.redis.defineCommand('quartetTakeFrom', { numberOfKeys: 2, lua: TAKE_FROM_SPACE });
    this.redis.defineCommand('quartetAddIn', { numberOfKeys: 2, lua: ADD_IN_SPACE });
    // ioredis emits 'error' while reconnecting; an unhandled 'error' event would crash the process.
    this.redis.on('error', () => {});
    const u = new URL(url);
    this.description = `Redis at ${u.hostname}:${u.port || 6379} (key prefix "${prefix}")`;
  }

  set(key: string, value: string, ttlSeconds: number): Promise<void> {
    return guardStorage('redis', async () => {
      await this.redis.set(key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)));
    });
  }

  get(key: string): Promise<string | null> {
    return guardStorage('redis', () => this.redis.get(key));
  }

  take(key: string): Promise<string | null> {
    // GETDEL (Redis >= 6.2) is atomic on the server: two concurrent redemptions cannot both see the value.
    return guardStorage('redis', () => this.redis.getdel(key));
  }

  delete(key: string): Promise<void> {
    return guardStorage('redis', async () => {
      await this.redis.del(key);
    });
  }

  claim(key: string, claimTtlSeconds: number): Promise<Claim> {
    return guardStorage('redis', async () => {
      const [value, first] = await this.redis.quartetClaim(
        key,
        `${key}:claimed`,
        Math.max(1, Math.ceil(claimTtlSeconds)),
      );
      return { value: value ?? null, first: first === 1 };
    });
  }

  setIn(space: KeySpace, key: string, value: string, ttlSeconds: number): Promise<void> {
    return guardStorage('redis', async () => {
      const ttlMs = Math.max(1, Math.ceil(ttlSeconds)) * 1000;
      const stored = await this.redis.quartetSetIn(spaceIndex(space), key, Date.now(), ttlMs, space.maxEntries, value);
      if (stored !== 1) throw new StoreFullError(space.name);
    });
  }

  addIn(space: KeySpace, key: string, ttlSeconds: number): Promise<boolean> {
    return guardStorage('redis', async () => {
      const ttlMs = Math.max(1, Math.ceil(ttlSeconds)) * 1000;
      const added = await this.redis.quartetAddIn(spaceIndex(space), key, Date.now(), ttlMs, space.maxEntries);
      if (added === -1) throw new StoreFullError(space.name);
      return added === 1;
    });
  }

  takeFrom(space: KeySpace, key: string): Promise<string | null> {
    return guardStorage('redis', () => this.redis.quartetTakeFrom(spaceIndex(space), key));
  }

  deleteFrom(space: KeySpace, key: string): Promise<void> {
    return guardStorage('redis', async () => {
      await this.redis.quartetTakeFrom(spaceIndex(space), key);
    });
  }

  ping(): Promise<void> {
    return guardStorage('redis', async () => {
      await this.redis.ping();
    });
  }

  /** The ioredis client, for libraries that keep their own keys in the same Redis (throttling counters). */
  get client(): Redis {
    return this.redis;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

const spaceIndex = (space: KeySpace) => `space:${space.name}`;
