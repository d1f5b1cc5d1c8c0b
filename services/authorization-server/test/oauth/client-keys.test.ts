// The keys of private_key_jwt clients (src/oauth/client-keys.ts): a jwks_uri fetched through the SSRF guard of client
// metadata documents (a local server; a private address refused; the size cap), cached by Cache-Control within
// bounds, failures kept briefly, fetched again for an unknown kid at most once per cooldown (key rotation, RFC 7517
// §5 kid), and a failed refetch keeping the good set.
import t from 'tap';
import { BusyError, type ReplayGuard } from '@quartet/common';
import { startDocumentServer } from '@quartet/testing';
import type { FetchedDocument } from '../../src/lib/metadata-document-fetch.js';
import {
  CACHE_BOUNDS,
  ClientKeySource,
  FAILURE_SECONDS,
  JwksUriError,
  MAX_IN_FLIGHT,
  REFETCH_COOLDOWN_SECONDS,
} from '../../src/oauth/client-keys.js';
import { ClientAssertionVerifier, decodeAssertion } from '../../src/oauth/client-assertion.js';
import type { ClientRecord } from '../../src/domain/records.js';
import { CONFIDENTIAL } from './client-fixtures.js';
import { clientAssertion, clientKey } from '../client-assertion-fixtures.js';

const URL_A = 'https://app.example/jwks.json';
const k1 = await clientKey('ES256', 'k1');
const k2 = await clientKey('ES256', 'k2');
const byUri = (uri = URL_A): Pick<ClientRecord, 'jwks' | 'jwksUri'> => ({ jwks: null, jwksUri: uri });

/** A fake fetch that answers from `documents` and counts; a clock the test moves. */
function fakes() {
  const state = {
    now: 1_000_000,
    documents: new Map<string, FetchedDocument | Error>(),
    fetched: [] as string[],
  };
  const fetch = async (url: string) => {
    state.fetched.push(url);
    const answer = state.documents.get(url) ?? new Error('not found');
    if (answer instanceof Error) throw answer;
    return answer;
  };
  const source = new ClientKeySource({ allowLoopbackHttp: false, fetch, now: () => state.now });
  return { state, source };
}
const set = (keys: object[], cacheControl?: string): FetchedDocument => ({ body: { keys }, cacheControl });
/** What `promise` fails with (undefined when it does not). */
const failure = (promise: Promise<unknown> | null) =>
  (promise ?? Promise.resolve()).then(
    () => undefined,
    (err: unknown) => err,
  );

t.test('inline keys are used as registered; a client without keys has none', async (t) => {
  const { state, source } = fakes();
  const jwks = { keys: [k1.jwk] };
  t.equal(await source.keysFor({ jwks, jwksUri: null }), jwks);
  t.equal(source.keysFor({ jwks: null, jwksUri: null }), null);
  t.equal(source.keysFor({}), null);
  t.same(state.fetched, []);
});

t.test('a jwks_uri set is cached for its max-age within the bounds; one fetch for concurrent look-ups', async (t) => {
  const { state, source } = fakes();
  state.documents.set(URL_A, set([k1.jwk], 'max-age=120'));
  const [a, b] = await Promise.all([source.keysFor(byUri()), source.keysFor(byUri())]);
  t.same(a, { keys: [k1.jwk] });
  t.equal(a, b);
  t.equal(state.fetched.length, 1);
  state.now += 119_000;
  await source.keysFor(byUri());
  t.equal(state.fetched.length, 1, 'fresh for 120 s');
  state.now += 2_000;
  await source.keysFor(byUri());
  t.equal(state.fetched.length, 2, 'fetched again after max-age');
  // no-store gets the floor, a day the ceiling, nothing the fallback.
  for (const [cacheControl, seconds] of [
    ['no-store', CACHE_BOUNDS.floor],
    ['max-age=86400', CACHE_BOUNDS.ceiling],
    [undefined, CACHE_BOUNDS.fallback],
  ] as const) {
    const url = `https://app.example/${cacheControl}.json`;
    state.documents.set(url, set([k1.jwk], cacheControl));
    await source.keysFor(byUri(url));
    const before = state.fetched.length;
    state.now += seconds * 1000 - 1;
    await source.keysFor(byUri(url));
    t.equal(state.fetched.length, before, `${cacheControl}: kept ${seconds} s`);
    state.now += 2;
    await source.keysFor(byUri(url));
    t.equal(state.fetched.length, before + 1, `${cacheControl}: then fetched again`);
  }
});

t.test('a set that cannot be fetched or used: JwksUriError naming the problem, kept for 10 s', async (t) => {
  const { state, source } = fakes();
  state.documents.set(URL_A, set([{ ...k1.jwk, d: 'secret' }]));
  t.match(await failure(source.keysFor(byUri())), {
    name: 'JwksUriError',
    problem: "jwks key 1 holds private or symmetric key material ('d'): register public keys only",
  });
  state.documents.set(URL_A, set([k1.jwk]));
  await t.rejects(source.keysFor(byUri())!, JwksUriError, 'still the failure');
  t.equal(state.fetched.length, 1);
  state.now += FAILURE_SECONDS * 1000;
  t.same(await source.keysFor(byUri()), { keys: [k1.jwk] }, 'fetched again after 10 s');
  t.match(await failure(source.keysFor(byUri('https://app.example/missing.json'))), {
    problem: 'the document could not be fetched',
  });
});

t.test('an unknown kid fetches the set again, at most once per cooldown; a failed refetch keeps the set', async (t) => {
  const { state, source } = fakes();
  state.documents.set(URL_A, set([k1.jwk], 'max-age=3600'));
  await source.keysFor(byUri());
  state.documents.set(URL_A, set([k1.jwk, k2.jwk], 'max-age=3600'));
  t.same(await source.keysFor(byUri(), true), { keys: [k1.jwk] }, 'not within the cooldown');
  t.equal(state.fetched.length, 1);
  state.now += REFETCH_COOLDOWN_SECONDS * 1000;
  t.same(await source.keysFor(byUri(), true), { keys: [k1.jwk, k2.jwk] }, 'the rotated set');
  t.equal(state.fetched.length, 2);
  state.now += REFETCH_COOLDOWN_SECONDS * 1000;
  state.documents.set(URL_A, new Error('down'));
  t.same(await source.keysFor(byUri(), true), { keys: [k1.jwk, k2.jwk] }, 'a failed refetch keeps the good set');
  t.same(await source.keysFor(byUri()), { keys: [k1.jwk, k2.jwk] });
  t.equal(state.fetched.length, 3);
});

t.test('too many fetches at once: BusyError (503), nothing kept', async (t) => {
  const pending: (() => void)[] = [];
  const source = new ClientKeySource({
    allowLoopbackHttp: false,
    fetch: () => new Promise((resolve) => pending.push(() => resolve(set([k1.jwk])))),
  });
  const running = Array.from({ length: MAX_IN_FLIGHT }, (_, i) => source.keysFor(byUri(`https://a.example/${i}`)));
  t.type(await failure(source.keysFor(byUri('https://a.example/one-more'))), BusyError);
  for (const resolve of pending) resolve();
  await Promise.all(running);
  const again = source.keysFor(byUri('https://a.example/one-more'))!;
  pending.at(-1)!();
  t.same(await again, { keys: [k1.jwk] }, 'the busy answer was not cached');
});

t.test('the verifier fetches a rotated set when the kid is unknown (key rotation at the client)', async (t) => {
  const { state, source } = fakes();
  state.documents.set(URL_A, set([k1.jwk], 'max-age=3600'));
  const used = new Set<string>();
  const replay: ReplayGuard = { firstUse: async (key) => !used.has(key) && !!used.add(key) };
  const verifier = new ClientAssertionVerifier(source, replay, {
    issuer: 'http://localhost:9000',
    maxLifetimeSeconds: 300,
    now: () => state.now,
  });
  const client: ClientRecord = { ...CONFIDENTIAL, id: 'c', secretHash: null, jwksUri: URL_A };
  const assertion = async (key: typeof k1) =>
    decodeAssertion(await clientAssertion(key, 'c', 'http://localhost:9000', { now: Math.floor(state.now / 1000) }));
  await verifier.verifySignature(await assertion(k1), client);
  state.documents.set(URL_A, set([k1.jwk, k2.jwk], 'max-age=3600'));
  t.match(await failure(verifier.verifySignature(await assertion(k2), client)), {
    reason: 'client-assertion-unknown-key',
  });
  state.now += REFETCH_COOLDOWN_SECONDS * 1000;
  await verifier.verifySignature(await assertion(k2), client);
  t.equal(state.fetched.length, 2, 'the rotated key verified after one refetch');
});

t.test('through the guarded fetch: a local server, a private address, the size cap, https', async (t) => {
  const documents = await startDocumentServer();
  t.teardown(() => documents.close());
  const dev = new ClientKeySource({ allowLoopbackHttp: true });
  const url = documents.put('/jwks.json', { keys: [k1.jwk] }, { 'cache-control': 'max-age=60' });
  t.same(await dev.keysFor(byUri(url)), { keys: [k1.jwk] });
  await dev.keysFor(byUri(url));
  t.same(documents.requests, ['/jwks.json'], 'fetched once, then cached');

  const big = documents.put('/big.json', { keys: [k1.jwk], padding: 'x'.repeat(33 * 1024) });
  t.match(await failure(dev.keysFor(byUri(big))), { problem: 'the document is larger than 32768 bytes' });
  t.match(await failure(dev.keysFor(byUri('https://10.0.0.1/jwks.json'))), {
    problem: 'the address 10.0.0.1 is private, loopback, link-local or reserved, and not fetched',
  });
  const production = new ClientKeySource({ allowLoopbackHttp: false });
  t.match(await failure(production.keysFor(byUri(url))), { problem: 'the document must be served over https' });
  t.match(await failure(production.keysFor(byUri('https://127.0.0.1:1/jwks.json'))), {
    problem: 'the address 127.0.0.1 is private, loopback, link-local or reserved, and not fetched',
  });
});
