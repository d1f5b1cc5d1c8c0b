// The semantics both key-value stores (Redis and in-process) must share for claim() and capped key spaces;
// memory-store.test.ts and kv-store.test.ts run these against their store.
import type { Test } from 'tap';
import { StoreFullError, type KeyValueStore } from '../src/index.js';

export async function claimContract(t: Test, store: KeyValueStore): Promise<void> {
  await store.set('code', 'data', 60);
  const claims = await Promise.all(Array.from({ length: 20 }, () => store.claim('code', 60)));
  t.equal(claims.filter((c) => c.first).length, 1, 'of concurrent claims exactly one is first');
  t.ok(
    claims.every((c) => c.value === 'data'),
    'every claim still reads the value (a replay can be recognised)',
  );
  t.same(await store.claim('code', 60), { value: 'data', first: false }, 'a later claim is not first');
  t.same(await store.claim('unknown', 60), { value: null, first: true }, 'an unknown key has no value');
}

export async function capContract(t: Test, store: KeyValueStore): Promise<void> {
  const space = { name: `cap-${Math.random().toString(36).slice(2)}`, maxEntries: 3 };
  for (const k of ['a', 'b', 'c']) await store.setIn(space, k, k, 60);
  await t.rejects(store.setIn(space, 'd', 'd', 60), StoreFullError, 'a fourth key is refused');
  const full = await store.setIn(space, 'd', 'd', 60).then(
    () => null,
    (err: unknown) => err as StoreFullError,
  );
  t.match(
    full,
    { status: 503, headers: { 'retry-after': '5' }, error: 'temporarily_unavailable' },
    'answered 503 + Retry-After',
  );
  await t.resolves(store.setIn(space, 'b', 'b2', 60), 'an existing key can be replaced');
  t.equal(await store.get('b'), 'b2');
  t.equal(await store.takeFrom(space, 'a'), 'a', 'take returns the value');
  t.equal(await store.takeFrom(space, 'a'), null, 'and is single use');
  await store.setIn(space, 'd', 'd', 60);
  await t.rejects(store.setIn(space, 'e', 'e', 60), StoreFullError);
  await store.deleteFrom(space, 'c');
  t.equal(await store.get('c'), null);
  await t.resolves(store.setIn(space, 'e', 'e', 60), 'a deleted key frees its place');
  // Other key spaces and plain keys do not count.
  await store.set('plain', 'x', 60);
  await t.resolves(store.setIn({ name: `${space.name}-other`, maxEntries: 1 }, 'z', 'z', 60));
}

/** Expired keys stop counting; `advance` moves the store's clock (or waits) past `ttlSeconds`. */
export async function capExpiryContract(
  t: Test,
  store: KeyValueStore,
  ttlSeconds: number,
  advance: () => Promise<void>,
): Promise<void> {
  const space = { name: `cap-exp-${Math.random().toString(36).slice(2)}`, maxEntries: 2 };
  await store.setIn(space, 'x1', '1', ttlSeconds);
  await store.setIn(space, 'x2', '2', ttlSeconds);
  await t.rejects(store.setIn(space, 'x3', '3', ttlSeconds), StoreFullError);
  await advance();
  await t.resolves(store.setIn(space, 'x3', '3', 60), 'expired keys no longer count');
}

/** addIn(): first add wins, even when concurrent; a live key is not added again; the cap holds. */
export async function addInContract(t: Test, store: KeyValueStore): Promise<void> {
  const space = { name: `add-${Math.random().toString(36).slice(2)}`, maxEntries: 2 };
  const adds = await Promise.all(Array.from({ length: 20 }, () => store.addIn(space, 'jti-1', 60)));
  t.equal(adds.filter(Boolean).length, 1, 'of concurrent adds of one key exactly one is first');
  t.equal(await store.addIn(space, 'jti-1', 60), false, 'a later add of a live key is refused');
  t.equal(await store.addIn(space, 'jti-2', 60), true);
  await t.rejects(store.addIn(space, 'jti-3', 60), StoreFullError, 'a third key is refused when the cap is 2');
  t.equal(await store.addIn(space, 'jti-2', 60), false, 'a live key is still recognised when the space is full');
}
