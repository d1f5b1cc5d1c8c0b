// Short-lived state (authorization codes, login sessions, CSRF-bound flow state) lives behind this small
// interface so that Redis and an in-process store are interchangeable.
import { Redis, type RedisOptions } from 'ioredis';
import { guardStorage } from './errors.js';

export interface KeyValueStore {
  /** Stores `value` under `key` for `ttlSeconds`, replacing any previous value. */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  get(key: string): Promise<string | null>;
  /** Returns the value and deletes it in one atomic step: of two concurrent takes, at most one gets it. */
  take(key: string): Promise<string | null>;
  delete(key: string): Promise<void>;
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

export class RedisKeyValueStore implements KeyValueStore {
  readonly description: string;
  private readonly redis: Redis;

  constructor(url: string, private readonly prefix: string) {
    this.redis = new Redis(url, { ...redisOptions(), keyPrefix: prefix });
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

  ping(): Promise<void> {
    return guardStorage('redis', async () => {
      await this.redis.ping();
    });
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
