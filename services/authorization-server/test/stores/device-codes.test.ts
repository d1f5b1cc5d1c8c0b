// The device authorization store (src/stores/device-codes.ts) on the configured backend (Redis with
// TEST_REDIS_URL, else the in-process store): decisions and redemptions are first-wins under concurrency,
// user codes are single-use and forgotten when decided, and the key space is capped and expires.
import t from 'tap';
import { StoreFullError, createKeyValueStore } from '@quartet/common';
import { createRedisPrefix } from '@quartet/testing';
import { DeviceCodeStore, generateDeviceCode } from '../../src/stores/device-codes.js';

const redis = createRedisPrefix('device-store');
const kv = createKeyValueStore(redis.env.REDIS_URL, redis.prefix);
t.teardown(async () => {
  await kv.close();
  await redis.cleanup();
});

const PENDING = {
  clientId: 'workshop-device',
  scopes: ['photos:read'],
  resource: 'http://localhost:9100',
  interval: 5,
};

t.test('one decision per user code, then it is forgotten (RFC 8628 §6.1)', async (t) => {
  const store = new DeviceCodeStore(kv, { ttlSeconds: 60, maxEntries: 100 });
  const deviceCode = generateDeviceCode();
  const userCode = await store.create(deviceCode, PENDING);
  t.match(userCode, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
  t.match(await store.findByUserCode(userCode), { ...PENDING, userCode });
  t.equal(await store.decision(deviceCode), null, 'undecided');
  const outcomes = await Promise.all([
    store.decide(userCode, { status: 'approved', userId: 'u' }),
    store.decide(userCode, { status: 'denied' }),
    store.decide(userCode, { status: 'denied' }),
  ]);
  t.equal(outcomes.filter((o) => o.decided).length, 1, 'exactly one decision recorded');
  const recorded = await store.decision(deviceCode);
  t.ok(recorded);
  t.equal(await store.findByUserCode(userCode), null, 'the user code no longer leads anywhere');
  t.same(await store.decide(userCode, { status: 'approved', userId: 'u' }), { decided: false });
});

t.test('a device code is redeemed once, even by concurrent claims', async (t) => {
  const store = new DeviceCodeStore(kv, { ttlSeconds: 60, maxEntries: 100 });
  const deviceCode = generateDeviceCode();
  await store.create(deviceCode, PENDING);
  const claims = await Promise.all([store.redeem(deviceCode), store.redeem(deviceCode), store.redeem(deviceCode)]);
  t.same(claims.filter(Boolean).length, 1);
  t.equal(await store.redeem(deviceCode), false);
  t.equal(await store.find(generateDeviceCode()), null, 'an unknown device code is not found');
});

t.test('capped: a full space refuses new device authorizations (503), and they expire', async (t) => {
  // The cap counts per space name: a store of its own keeps this test's space apart from the others'.
  const own = createRedisPrefix('device-cap');
  const capped = createKeyValueStore(own.env.REDIS_URL, own.prefix);
  t.teardown(async () => {
    await capped.close();
    await own.cleanup();
  });
  let now = Date.now();
  const store = new DeviceCodeStore(capped, { ttlSeconds: 1, maxEntries: 2, now: () => now });
  const first = generateDeviceCode();
  const userCode = await store.create(first, PENDING);
  await store.create(generateDeviceCode(), PENDING);
  await t.rejects(store.create(generateDeviceCode(), PENDING), StoreFullError);
  now += 1000;
  t.equal(await store.findByUserCode(userCode), null, 'past its lifetime the user code leads nowhere');
  t.match(await store.find(first), { expiresAt: now }, 'the device record outlives it, to answer expired_token');
  t.same(
    await store.decide(userCode, { status: 'approved', userId: 'u' }),
    { decided: false },
    'nor can it be decided',
  );
});
