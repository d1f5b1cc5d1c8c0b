import t from 'tap';
import { InMemoryKeyValueStore } from '../src/index.js';
import { addInContract, capContract, capExpiryContract, claimContract } from './store-contract.js';

t.test('in-process store: same semantics as Redis (TTL, single-use take)', async (t) => {
  let now = 1_000_000;
  const store = new InMemoryKeyValueStore(() => now);
  t.teardown(() => store.close());
  await store.set('a', 'one', 60);
  t.equal(await store.get('a'), 'one');
  t.equal(await store.take('a'), 'one');
  t.equal(await store.take('a'), null, 'take is single use');
  await store.set('b', 'two', 10);
  now += 9_999;
  t.equal(await store.get('b'), 'two', 'alive just before its TTL');
  now += 1;
  t.equal(await store.get('b'), null, 'gone at its TTL');
  t.equal(await store.take('b'), null);
  await store.set('c', 'three', 1);
  await store.delete('c');
  t.equal(await store.get('c'), null);
  await store.set('d', 'x', 1);
  now += 5_000;
  store.sweep();
  t.equal(store.size, 0, 'sweep drops expired keys never read again');
  await t.resolves(store.ping());
});

t.test('in-process store: of many concurrent takes exactly one wins', async (t) => {
  const store = new InMemoryKeyValueStore();
  t.teardown(() => store.close());
  await store.set('code', 'v', 60);
  const results = await Promise.all(Array.from({ length: 50 }, () => store.take('code')));
  t.equal(results.filter((r) => r === 'v').length, 1);
});

t.test('in-process store: claim is first-wins and keeps the value readable', async (t) => {
  const store = new InMemoryKeyValueStore();
  t.teardown(() => store.close());
  await claimContract(t, store);
});

t.test('in-process store: addIn is first-wins in a capped key space', async (t) => {
  const store = new InMemoryKeyValueStore();
  t.teardown(() => store.close());
  await addInContract(t, store);
});

t.test(
  'in-process store: capped key spaces refuse new keys when full (503) and free places on take/delete/expiry',
  async (t) => {
    let now = 1_000_000;
    const store = new InMemoryKeyValueStore(() => now);
    t.teardown(() => store.close());
    await capContract(t, store);
    await capExpiryContract(t, store, 10, async () => {
      now += 10_000;
    });
  },
);
