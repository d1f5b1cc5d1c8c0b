// The resolver of metadata document clients (src/oauth/client-metadata-resolver.ts): what it caches and for how
// long, what it never caches, and its bound on fetches at once — with a fake fetch, store and clock.
import t from 'tap';
import { ApiError, StorageUnavailableError } from '@quartet/common';
import {
  CACHE_BOUNDS,
  ClientMetadataResolver,
  FAILURE_SECONDS,
  MAX_CACHED,
  MAX_IN_FLIGHT,
} from '../../src/oauth/client-metadata-resolver.js';
import { ClientMetadataDocumentError } from '../../src/oauth/client-metadata-document.js';
import { MetadataDocumentFetchError, type FetchedDocument } from '../../src/lib/metadata-document-fetch.js';

const ID = 'https://app.example/client.json';
const doc = (id = ID) => ({ client_id: id, redirect_uris: ['https://app.example/cb'] });

function setup(answer: (url: string) => Promise<FetchedDocument>, save = async () => true) {
  let clock = 1_000_000;
  const fetched: string[] = [];
  const saved: string[] = [];
  const resolver = new ClientMetadataResolver(
    {
      save: async (record) => {
        saved.push(record.id);
        return save();
      },
    },
    {
      allowLoopbackHttp: false,
      fetch: (url) => {
        fetched.push(url);
        return answer(url);
      },
      now: () => clock,
    },
  );
  return { resolver, fetched, saved, advance: (seconds: number) => (clock += seconds * 1000) };
}

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (err: unknown) => (err instanceof ClientMetadataDocumentError ? err.problem : err),
  );

t.test('a document is kept for its max-age, and its row saved at each fetch', async (t) => {
  const { resolver, fetched, saved, advance } = setup(async (url) => ({ body: doc(url), cacheControl: 'max-age=60' }));
  t.ok(resolver.handles(ID));
  t.notOk(resolver.handles('demo-client'));
  t.equal((await resolver.resolve(ID)).id, ID);
  t.equal((await resolver.resolve(ID)).id, ID);
  advance(59);
  await resolver.resolve(ID);
  t.equal(fetched.length, 1, 'reused within max-age');
  advance(2);
  await resolver.resolve(ID);
  t.equal(fetched.length, 2, 'fetched again after max-age');
  t.same(saved, [ID, ID]);
});

t.test('no-store is kept only for the floor; concurrent look-ups share one fetch', async (t) => {
  const { resolver, fetched, advance } = setup(async (url) => ({ body: doc(url), cacheControl: 'no-store' }));
  await Promise.all([resolver.resolve(ID), resolver.resolve(ID), resolver.resolve(ID)]);
  t.equal(fetched.length, 1);
  advance(CACHE_BOUNDS.floor - 1);
  await resolver.resolve(ID);
  t.equal(fetched.length, 1);
  advance(2);
  await resolver.resolve(ID);
  t.equal(fetched.length, 2);
});

t.test('a document that cannot be used is refused, and not fetched again for a while', async (t) => {
  const { resolver, fetched, saved, advance } = setup(async () => {
    throw new MetadataDocumentFetchError('the document URL answered HTTP 404 (200 expected)');
  });
  t.equal(await failureOf(resolver.resolve(ID)), 'the document URL answered HTTP 404 (200 expected)');
  t.equal(await failureOf(resolver.resolve(ID)), 'the document URL answered HTTP 404 (200 expected)');
  t.equal(fetched.length, 1);
  advance(FAILURE_SECONDS + 1);
  await failureOf(resolver.resolve(ID));
  t.equal(fetched.length, 2);
  t.same(saved, [], 'nothing saved');

  const invalid = setup(async () => ({ body: doc('https://other.example/c'), cacheControl: undefined }));
  t.equal(await failureOf(invalid.resolver.resolve(ID)), 'its client_id does not equal the URL it was fetched from');
  t.same(invalid.saved, []);
  t.equal(await failureOf(invalid.resolver.resolve('https://app.example')), 'the URL must have a path');
  t.same(invalid.fetched, [ID], 'a bad URL is never fetched');
});

t.test('an unexpected fetch failure is named without its details', async (t) => {
  const { resolver } = setup(async () => {
    throw new Error('internal detail');
  });
  t.equal(await failureOf(resolver.resolve(ID)), 'the document could not be fetched');
});

t.test('a storage outage while saving is not kept: the next look-up tries again', async (t) => {
  let down = true;
  const { resolver, fetched } = setup(
    async (url) => ({ body: doc(url), cacheControl: undefined }),
    async () => {
      if (down) throw new StorageUnavailableError('postgresql');
      return true;
    },
  );
  t.ok((await failureOf(resolver.resolve(ID))) instanceof StorageUnavailableError);
  down = false;
  t.equal((await resolver.resolve(ID)).id, ID);
  t.equal(fetched.length, 2);
});

t.test('an id that belongs to a client registered otherwise is refused', async (t) => {
  const { resolver } = setup(
    async (url) => ({ body: doc(url), cacheControl: undefined }),
    async () => false,
  );
  t.equal(await failureOf(resolver.resolve(ID)), 'this client_id belongs to a client registered otherwise');
});

t.test(`at most ${MAX_IN_FLIGHT} fetches at once; beyond, 503 + Retry-After, not kept`, async (t) => {
  // Fetches wait until released; once released, they answer at once.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const { resolver } = setup(async (url) => {
    await released;
    return { body: doc(url), cacheControl: undefined };
  });
  const running = Array.from({ length: MAX_IN_FLIGHT }, (_, i) => resolver.resolve(`${ID}?n=${i}`));
  const busy = await failureOf(resolver.resolve(`${ID}?n=busy`));
  t.ok(busy instanceof ApiError);
  t.match(busy, { status: 503, error: 'temporarily_unavailable', headers: { 'retry-after': '5' } });
  release();
  await Promise.all(running);
  t.equal((await resolver.resolve(`${ID}?n=busy`)).id, `${ID}?n=busy`, 'tried again once there is room');
});

t.test(`at most ${MAX_CACHED} documents are kept; the oldest go first`, async (t) => {
  const { resolver, fetched } = setup(async (url) => ({ body: doc(url), cacheControl: 'max-age=3600' }));
  for (let i = 0; i <= MAX_CACHED; i++) await resolver.resolve(`${ID}?n=${i}`);
  await resolver.resolve(`${ID}?n=${MAX_CACHED}`);
  t.equal(fetched.length, MAX_CACHED + 1, 'the newest still cached');
  await resolver.resolve(`${ID}?n=0`);
  t.equal(fetched.length, MAX_CACHED + 2, 'the oldest was dropped');
});
