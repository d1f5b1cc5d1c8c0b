// Tests share one Redis server when TEST_REDIS_URL is set; each gets a random key prefix and deletes its
// keys afterwards. Without it, services under test use their in-process store and there is nothing to clean.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis server for tests, or undefined to use the in-process store. */
export function testRedisUrl(): string | undefined {
  return process.env.TEST_REDIS_URL || undefined;
}

export interface TestRedisPrefix {
  prefix: string;
  /** REDIS_URL and REDIS_PREFIX for the service under test (empty when embedded). */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

export function createRedisPrefix(label = 'test'): TestRedisPrefix {
  const prefix = `quartet-test:${label}:${randomBytes(4).toString('hex')}:`;
  const url = testRedisUrl();
  return {
    prefix,
    env: url ? { REDIS_URL: url, REDIS_PREFIX: prefix } : {},
    async cleanup() {
      if (!url) return;
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      redis.on('error', () => {});
      try {
        await redis.connect();
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length) await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
