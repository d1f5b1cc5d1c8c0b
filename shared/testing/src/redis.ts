// Tests share one Redis server; each gets a random key prefix and deletes its keys afterwards.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

export interface TestRedisPrefix {
  prefix: string;
  cleanup(): Promise<void>;
}

export function createRedisPrefix(label = 'test'): TestRedisPrefix {
  const prefix = `quartet-test:${label}:${randomBytes(4).toString('hex')}:`;
  return {
    prefix,
    async cleanup() {
      const redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
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
