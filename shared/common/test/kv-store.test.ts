import t, { type Test } from 'tap';
import { TcpProxy, createRedisPrefix, needsRealRedis, testRedisUrl } from '@quartet/testing';
import { RedisKeyValueStore, StorageUnavailableError } from '../src/index.js';
import { addInContract, capContract, capExpiryContract, claimContract } from './store-contract.js';

// The in-process store has its own test (memory-store.test.ts); these need a Redis server.
const redisUrl = testRedisUrl() ?? '';

/** A Redis store under a fresh key prefix, closed and its keys removed when the test ends. */
function redisStore(t: Test): { store: RedisKeyValueStore; prefix: string } {
  const p = createRedisPrefix('kv');
  const store = new RedisKeyValueStore(redisUrl, p.prefix);
  t.teardown(async () => {
    await store.close();
    await p.cleanup();
  });
  return { store, prefix: p.prefix };
}

t.test('redis store: set/get/take/delete with TTL', { skip: needsRealRedis }, async (t) => {
  const { store } = redisStore(t);
  await store.set('a', 'one', 60);
  t.equal(await store.get('a'), 'one');
  t.equal(await store.take('a'), 'one');
  t.equal(await store.take('a'), null, 'take is single use');
  await store.set('b', 'two', 1);
  await new Promise((r) => setTimeout(r, 1100));
  t.equal(await store.get('b'), null, 'expired after its TTL');
  await store.set('c', 'three', 60);
  await store.delete('c');
  t.equal(await store.get('c'), null);
  t.match(store.description, /Redis at 127\.0\.0\.1:6379/);
});

t.test('redis store: of many concurrent takes exactly one wins', { skip: needsRealRedis }, async (t) => {
  const { store } = redisStore(t);
  await store.set('code', 'v', 60);
  const results = await Promise.all(Array.from({ length: 20 }, () => store.take('code')));
  t.equal(results.filter((r) => r === 'v').length, 1);
});

t.test(
  'redis store: an outage is StorageUnavailableError and it recovers without a restart',
  { skip: needsRealRedis },
  async (t) => {
    const p = createRedisPrefix('kv');
    const proxy = new TcpProxy('127.0.0.1', 6379);
    await proxy.start();
    const store = new RedisKeyValueStore(proxy.rewrite(redisUrl), p.prefix);
    t.teardown(async () => {
      await store.close();
      await proxy.stop();
      await p.cleanup();
    });
    await store.set('k', 'v', 60);
    await proxy.stop();
    await t.rejects(store.get('k'), StorageUnavailableError);
    await t.rejects(store.ping(), StorageUnavailableError);
    await proxy.start();
    let value: string | null = null;
    for (let i = 0; i < 50 && value === null; i++) {
      value = await store.get('k').catch(() => null);
      if (value === null) await new Promise((r) => setTimeout(r, 100));
    }
    t.equal(value, 'v', 'reads again once Redis is back');
  },
);

t.test(
  'redis store: claim is first-wins (one MULTI) and keeps the value readable',
  { skip: needsRealRedis },
  async (t) => {
    const { store } = redisStore(t);
    await claimContract(t, store);
  },
);

t.test('redis store: addIn is first-wins in a capped key space', { skip: needsRealRedis }, async (t) => {
  const { store } = redisStore(t);
  await addInContract(t, store);
});

t.test(
  'redis store: capped key spaces (a sorted set per space, one Lua script per call)',
  { skip: needsRealRedis },
  async (t) => {
    const { store, prefix } = redisStore(t);
    await capContract(t, store);
    await capExpiryContract(t, store, 1, () => new Promise((r) => setTimeout(r, 1100)));
    // Two instances share the cap: it holds across clients of the same Redis.
    const other = new RedisKeyValueStore(redisUrl, prefix);
    t.teardown(() => other.close());
    const space = { name: 'shared', maxEntries: 10 };
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) => (i % 2 ? store : other).setIn(space, `k${i}`, 'v', 60)),
    );
    t.equal(
      results.filter((r) => r.status === 'fulfilled').length,
      10,
      'exactly maxEntries of 30 concurrent adds from two clients',
    );
  },
);
