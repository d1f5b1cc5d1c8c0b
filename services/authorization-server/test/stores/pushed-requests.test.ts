// The pushed authorization request store (src/stores/pushed-requests.ts, RFC 9126 §2.2, §4) on the configured
// backend (Redis with TEST_REDIS_URL, else the in-process store): a request_uri of the registered URN form with
// 256 random bits, taken once even by concurrent uses, forgotten after its lifetime, and a capped key space.
import t from 'tap';
import { StoreFullError, createKeyValueStore } from '@quartet/common';
import { createRedisPrefix } from '@quartet/testing';
import type { AuthorizationRequest } from '../../src/domain/records.js';
import { PushedRequestStore, REQUEST_URI_PATTERN } from '../../src/stores/pushed-requests.js';

const redis = createRedisPrefix('par-store');
const kv = createKeyValueStore(redis.env.REDIS_URL, redis.prefix);
t.teardown(async () => {
  await kv.close();
  await redis.cleanup();
});

const REQUEST: AuthorizationRequest = {
  clientId: 'demo-client',
  redirectUri: 'http://localhost:3000/callback',
  redirectUriProvided: true,
  scopes: ['photos:read'],
  state: 'st',
  codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  resource: 'http://localhost:9100',
  publicClient: false,
  dpopJkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
};

t.test('a request_uri is the URN of RFC 9126 §2.2 with 256 random bits; the request comes back whole', async (t) => {
  const store = new PushedRequestStore(kv, 60, 100);
  const uri = await store.push(REQUEST);
  t.match(uri, /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/);
  t.ok(REQUEST_URI_PATTERN.test(uri));
  t.not(await store.push(REQUEST), uri, 'a new one each time');
  t.same(await store.take(uri), REQUEST);
});

t.test('single use, even for concurrent uses (RFC 9126 §4)', async (t) => {
  const store = new PushedRequestStore(kv, 60, 100);
  const uri = await store.push(REQUEST);
  const takes = await Promise.all([store.take(uri), store.take(uri), store.take(uri)]);
  t.equal(takes.filter(Boolean).length, 1, 'exactly one use finds it');
  t.equal(await store.take(uri), null);
});

t.test('unknown, malformed or foreign values find nothing', async (t) => {
  const store = new PushedRequestStore(kv, 60, 100);
  const uri = await store.push(REQUEST);
  for (const value of [
    `urn:ietf:params:oauth:request_uri:${'A'.repeat(43)}`,
    uri.slice(0, -1),
    `${uri}x`,
    uri.replace('urn:ietf:params:oauth:request_uri:', 'urn:example:'),
    'https://client.example/request.jwt',
    '',
  ])
    t.equal(await store.take(value), null, JSON.stringify(value));
  t.same(await store.take(uri), REQUEST, 'the real one is still there');
});

t.test('short-lived: gone after its lifetime (RFC 9126 §2.2 expires_in)', async (t) => {
  const store = new PushedRequestStore(kv, 1, 100);
  const uri = await store.push(REQUEST);
  await new Promise((resolve) => setTimeout(resolve, 1200));
  t.equal(await store.take(uri), null);
});

t.test('capped: a full space refuses a push (503 + Retry-After); a taken request frees its place', async (t) => {
  // The cap counts per space name: a store of its own keeps this test's space apart from the others'.
  const own = createRedisPrefix('par-cap');
  const capped = createKeyValueStore(own.env.REDIS_URL, own.prefix);
  t.teardown(async () => {
    await capped.close();
    await own.cleanup();
  });
  const store = new PushedRequestStore(capped, 60, 2);
  const first = await store.push(REQUEST);
  await store.push(REQUEST);
  const full = await store.push(REQUEST).catch((err: unknown) => err);
  t.ok(full instanceof StoreFullError);
  t.match(full, { status: 503, error: 'temporarily_unavailable', headers: { 'retry-after': '5' } });
  await store.take(first);
  t.match(await store.push(REQUEST), REQUEST_URI_PATTERN);
});
