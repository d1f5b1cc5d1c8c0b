// The cache of fetched documents (src/lib/fetched-document-cache.ts) that client metadata documents and jwks_uri
// sets share: one fetch for concurrent look-ups, a lifetime from Cache-Control within the bounds, verdicts kept and
// other errors forgotten, at most maxCached kept and maxInFlight fetching, and a refetch at most once per cooldown
// that keeps the good copy when it fails — with a fake fetch and clock, and small limits.
import t from 'tap';
import { BusyError, StorageUnavailableError } from '@quartet/common';
import { FetchedDocumentCache } from '../../src/lib/fetched-document-cache.js';
import { MetadataDocumentFetchError, type FetchedDocument } from '../../src/lib/metadata-document-fetch.js';

/** The verdict in these tests: the document cannot be used. */
class Verdict extends Error {
  override name = 'Verdict';
}

const BOUNDS = { floor: 10, ceiling: 100, fallback: 50 };
const FAILURE_SECONDS = 5;
const MAX_CACHED = 3;
const MAX_IN_FLIGHT = 2;
const COOLDOWN_SECONDS = 30;
const URL_A = 'https://app.example/a.json';

/**
 * A cache reading a document's `name`, over a fake fetch that answers from `answers` (a missing URL: HTTP 404) and
 * waits while `hold` is set, a storage that is down while `outage` is set, and a clock the test moves.
 */
function setup() {
  const state = {
    now: 1_000_000,
    answers: new Map<string, FetchedDocument | Error>(),
    fetched: [] as string[],
    hold: undefined as Promise<void> | undefined,
    outage: false,
    advance: (seconds: number) => (state.now += seconds * 1000),
  };
  const cache = new FetchedDocumentCache<string>({
    fetch: async (url) => {
      state.fetched.push(url);
      await state.hold;
      const answer = state.answers.get(url) ?? new MetadataDocumentFetchError('the document URL answered HTTP 404');
      if (answer instanceof Error) throw answer;
      return answer;
    },
    read: async (_url, fetched) => {
      if (state.outage) throw new StorageUnavailableError('postgresql');
      const { name } = fetched.body as { name?: unknown };
      if (typeof name !== 'string') throw new Verdict('the document has no name');
      return name;
    },
    urlProblem: (url) => (url.startsWith('https://') ? null : 'the URL must use https'),
    verdict: (url, problem) => new Verdict(`${url}: ${problem}`),
    isVerdict: (err) => err instanceof Verdict,
    bounds: BOUNDS,
    failureSeconds: FAILURE_SECONDS,
    maxCached: MAX_CACHED,
    maxInFlight: MAX_IN_FLIGHT,
    busyMessage: 'Too many test documents are being fetched.',
    now: () => state.now,
  });
  return { state, cache };
}
const doc = (name: string, cacheControl?: string): FetchedDocument => ({ body: { name }, cacheControl });
/** A way to hold fetches until released. */
function held() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}
/** What `promise` settles with: its value, or the error's message. */
const outcome = (promise: Promise<string>) =>
  promise.then(
    (value) => value,
    (err: Error) => `${err.name}: ${err.message}`,
  );

t.test('concurrent look-ups of one URL share one fetch', async (t) => {
  const { state, cache } = setup();
  state.answers.set(URL_A, doc('a'));
  const gate = held();
  state.hold = gate.promise;
  const first = cache.get(URL_A);
  const second = cache.get(URL_A);
  t.equal(first, second, 'the same promise while the fetch runs');
  gate.release();
  t.same(await Promise.all([first, second, cache.get(URL_A)]), ['a', 'a', 'a']);
  t.same(state.fetched, [URL_A]);
});

t.test('a document is kept as long as its Cache-Control says, within the bounds', async (t) => {
  const rows: [string | undefined, number][] = [
    ['max-age=30', 30],
    ['max-age=1', BOUNDS.floor],
    ['no-store', BOUNDS.floor],
    ['no-cache, max-age=60', BOUNDS.floor],
    ['max-age=86400', BOUNDS.ceiling],
    [undefined, BOUNDS.fallback],
  ];
  for (const [cacheControl, seconds] of rows) {
    const { state, cache } = setup();
    state.answers.set(URL_A, doc('a', cacheControl));
    await cache.get(URL_A);
    state.now += seconds * 1000 - 1;
    await cache.get(URL_A);
    t.equal(state.fetched.length, 1, `${cacheControl}: kept ${seconds} s`);
    state.now += 1;
    await cache.get(URL_A);
    t.equal(state.fetched.length, 2, `${cacheControl}: then fetched again`);
  }
});

t.test('a verdict is kept for failureSeconds, then the URL is fetched again', async (t) => {
  const verdicts: [string, FetchedDocument | Error, string][] = [
    [
      'a refused fetch, named',
      new MetadataDocumentFetchError('the document URL answered HTTP 500'),
      `Verdict: ${URL_A}: the document URL answered HTTP 500`,
    ],
    [
      'any other fetch failure, without its details',
      new Error('internal detail'),
      `Verdict: ${URL_A}: the document could not be fetched`,
    ],
    ['a document read refuses', { body: {}, cacheControl: undefined }, 'Verdict: the document has no name'],
  ];
  for (const [name, answer, expected] of verdicts) {
    const { state, cache } = setup();
    state.answers.set(URL_A, answer);
    t.equal(await outcome(cache.get(URL_A)), expected, name);
    state.answers.set(URL_A, doc('a'));
    state.advance(FAILURE_SECONDS - 0.001);
    t.equal(await outcome(cache.get(URL_A)), expected, `${name}: still the verdict`);
    t.equal(state.fetched.length, 1, `${name}: not fetched again`);
    state.advance(0.001);
    t.equal(await outcome(cache.get(URL_A)), 'a', `${name}: fetched again after ${FAILURE_SECONDS} s`);
  }
});

t.test('a URL with a problem is a verdict without a fetch, even when fetches are at the bound', async (t) => {
  const { state, cache } = setup();
  state.hold = held().promise;
  for (let i = 0; i < MAX_IN_FLIGHT; i++) void cache.get(`${URL_A}?n=${i}`);
  t.equal(
    await outcome(cache.get('http://app.example/a.json')),
    'Verdict: http://app.example/a.json: the URL must use https',
  );
  t.equal(state.fetched.length, MAX_IN_FLIGHT, 'never fetched');
});

t.test('an error that is not a verdict is forgotten at once: the next look-up fetches again', async (t) => {
  const { state, cache } = setup();
  state.answers.set(URL_A, doc('a'));
  state.outage = true;
  t.equal(await outcome(cache.get(URL_A)), 'StorageUnavailableError: postgresql is unavailable');
  state.outage = false;
  t.equal(await outcome(cache.get(URL_A)), 'a');
  t.equal(state.fetched.length, 2);
});

t.test(`at most ${MAX_CACHED} documents are kept; the first fetched go first`, async (t) => {
  const { state, cache } = setup();
  const urls = Array.from({ length: MAX_CACHED + 1 }, (_, i) => `${URL_A}?n=${i}`);
  for (const url of urls) state.answers.set(url, doc(url));
  for (const url of urls) await cache.get(url);
  for (const url of urls.slice(1)) await cache.get(url);
  t.equal(state.fetched.length, MAX_CACHED + 1, 'the newest still kept');
  await cache.get(urls[0]!);
  t.equal(state.fetched.length, MAX_CACHED + 2, 'the first was dropped');
});

t.test(`at most ${MAX_IN_FLIGHT} fetches at once; beyond, BusyError (503), not kept`, async (t) => {
  const { state, cache } = setup();
  const urls = Array.from({ length: MAX_IN_FLIGHT + 1 }, (_, i) => `${URL_A}?n=${i}`);
  for (const url of urls) state.answers.set(url, doc(url));
  const gate = held();
  state.hold = gate.promise;
  const running = urls.slice(0, MAX_IN_FLIGHT).map((url) => cache.get(url));
  const busy = await cache.get(urls.at(-1)!).catch((err: unknown) => err);
  t.type(busy, BusyError);
  t.match(busy, { status: 503, message: 'Too many test documents are being fetched.' });
  t.equal(state.fetched.length, MAX_IN_FLIGHT, 'not fetched');
  gate.release();
  await Promise.all(running);
  t.equal(await outcome(cache.get(urls.at(-1)!)), urls.at(-1), 'fetched once there is room');

  // A failed fetch gives its place back too.
  const { state: failing, cache: failingCache } = setup();
  for (let i = 0; i < MAX_IN_FLIGHT; i++) await outcome(failingCache.get(`${URL_A}?missing=${i}`));
  failing.answers.set(URL_A, doc('a'));
  t.equal(await outcome(failingCache.get(URL_A)), 'a');
});

t.test('refetch: at most once per cooldown; a failed refetch keeps the fresh copy', async (t) => {
  const { state, cache } = setup();
  state.answers.set(URL_A, doc('one', 'max-age=100'));
  await cache.get(URL_A);
  state.answers.set(URL_A, doc('two', 'max-age=100'));
  t.equal(await cache.refetch(URL_A, COOLDOWN_SECONDS), 'one', 'within the cooldown: the kept copy');
  t.equal(state.fetched.length, 1);
  state.advance(COOLDOWN_SECONDS);
  t.equal(await cache.refetch(URL_A, COOLDOWN_SECONDS), 'two', 'after it: fetched again');
  t.equal(await cache.get(URL_A), 'two', 'and kept');
  t.equal(state.fetched.length, 2);

  state.advance(COOLDOWN_SECONDS);
  state.answers.set(URL_A, new MetadataDocumentFetchError('the document URL answered HTTP 500'));
  const gate = held();
  state.hold = gate.promise;
  const refetched = cache.refetch(URL_A, COOLDOWN_SECONDS);
  const meanwhile = cache.get(URL_A);
  gate.release();
  t.same(await Promise.all([refetched, meanwhile]), ['two', 'two'], 'a verdict: the kept copy, for both');
  state.hold = undefined;
  state.advance(FAILURE_SECONDS);
  t.equal(await cache.get(URL_A), 'two', `still kept after ${FAILURE_SECONDS} s: the good copy, not the verdict`);
  t.equal(state.fetched.length, 3);
  state.advance(100 - COOLDOWN_SECONDS - FAILURE_SECONDS);
  t.match(await outcome(cache.get(URL_A)), /^Verdict: /, 'until that copy ends');
  t.equal(state.fetched.length, 4);
});

t.test(
  'refetch without a fresh copy is an ordinary fetch; an error that is no verdict goes to the caller, the fresh copy stays',
  async (t) => {
    const { state, cache } = setup();
    t.match(await outcome(cache.refetch(URL_A, COOLDOWN_SECONDS)), /HTTP 404/, 'nothing kept: fetched');
    state.answers.set(URL_A, doc('one', 'max-age=50'));
    state.advance(FAILURE_SECONDS);
    await cache.get(URL_A);
    state.advance(50);
    state.answers.set(URL_A, new MetadataDocumentFetchError('the document URL answered HTTP 500'));
    t.match(await outcome(cache.refetch(URL_A, COOLDOWN_SECONDS)), /HTTP 500/, 'an expired copy is not answered');

    const busy = setup();
    busy.state.answers.set(URL_A, doc('one'));
    await busy.cache.get(URL_A);
    busy.state.advance(COOLDOWN_SECONDS);
    busy.state.outage = true;
    t.match(await outcome(busy.cache.refetch(URL_A, COOLDOWN_SECONDS)), /^StorageUnavailableError/, 'the outage');
    busy.state.outage = false;
    busy.state.answers.set(URL_A, doc('two'));
    t.equal(await busy.cache.get(URL_A), 'one', 'the fresh copy is still kept');
    t.equal(busy.state.fetched.length, 2, 'not fetched again');
    busy.state.advance(BOUNDS.fallback - COOLDOWN_SECONDS);
    t.equal(await busy.cache.get(URL_A), 'two', 'until it ends');
  },
);
