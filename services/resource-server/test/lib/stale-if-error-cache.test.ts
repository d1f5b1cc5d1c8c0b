// The cache rules on their own (RFC 5861 §4 stale-if-error, back-off, one fetch at a time), with a loader the
// test controls and a clock it moves. What they mean for tokens: remote-key-set.test.ts.
import t from 'tap';
import {
  FetchUnavailableError,
  StaleIfErrorCache,
  type StaleIfErrorOptions,
} from '../../src/lib/stale-if-error-cache.js';
import { sleep } from '../helper.js';

function cache(load: StaleIfErrorOptions<string>['load'], options: Partial<StaleIfErrorOptions<string>> = {}) {
  const clock = { now: 1_000_000 };
  const events: string[] = [];
  const c = new StaleIfErrorCache<string>({
    load,
    timeout: 200,
    maxAge: 10_000,
    maxStale: 60_000,
    retryDelay: 1000,
    maxRetryDelay: 8000,
    now: () => clock.now,
    events: {
      failed: (_err, failures, retryIn) => events.push(`failed ${failures} retry in ${retryIn}`),
      servingStale: () => events.push('stale'),
      expired: () => events.push('expired'),
      recovered: (failures) => events.push(`recovered after ${failures}`),
    },
    ...options,
  });
  return { c, clock, events };
}

t.test('back-off doubles from retryDelay up to maxRetryDelay, and a success resets it', async (t) => {
  let ok = false;
  const { c, clock, events } = cache(async () => {
    if (!ok) throw new Error('down');
    return 'v';
  });
  for (let i = 0; i < 6; i++) {
    await t.rejects(c.fetch(1000), FetchUnavailableError);
    t.ok(c.backingOff && c.failing);
    clock.now += 8000;
  }
  t.same(
    events,
    [1000, 2000, 4000, 8000, 8000, 8000].map((d, i) => `failed ${i + 1} retry in ${d}`),
  );
  t.notOk(c.backingOff, 'past the back-off');
  ok = true;
  t.equal(await c.fetch(1000), 'v');
  t.equal(events.at(-1), 'recovered after 6');
  t.notOk(c.failing);
  t.equal(c.error, null);
});

t.test('usable(): fresh, then stale within maxStale (with a background refresh), then gone', async (t) => {
  let answer: string | Error = 'one';
  let loads = 0;
  const { c, clock, events } = cache(async () => {
    loads++;
    if (answer instanceof Error) throw answer;
    return answer;
  });
  t.equal(c.usable(), undefined, 'nothing before the first fetch');
  t.equal(loads, 0, 'and usable() alone does not fetch a missing value');
  t.equal(await c.fetch(1000), 'one');
  clock.now += 9999;
  t.equal(c.usable(), 'one');
  t.equal(loads, 1, 'fresh: no refresh');

  answer = new Error('down');
  clock.now += 1;
  t.equal(c.usable(), 'one', 'past max age: the value we have');
  t.equal(loads, 2, 'and a refresh in the background');
  await sleep(10);
  t.equal(c.usable(), 'one', 'refresh failed: stale-if-error');
  t.equal(c.usable(), 'one');
  t.same(events, ['failed 1 retry in 1000', 'stale'], 'the stale warning once');
  t.equal(loads, 2, 'no refresh during the back-off');

  clock.now += 60_000;
  t.equal(c.usable(), undefined, 'past maxAge + maxStale: not used');
  t.equal(c.usable(), undefined);
  t.equal(events.filter((e) => e === 'expired').length, 1, 'the expiry warning once');
  t.equal(c.current?.value, 'one', 'still remembered, for the log');
  await sleep(10);

  answer = 'two';
  clock.now += 8000;
  c.usable();
  await sleep(10);
  t.equal(c.usable(), 'two', 'a later refresh replaces it');
});

t.test('one fetch at a time: concurrent callers join it', async (t) => {
  let loads = 0;
  const { c } = cache(async () => {
    loads++;
    await sleep(50);
    return 'v';
  });
  t.same(await Promise.all([c.fetch(1000), c.fetch(1000), c.fetch(1000)]), ['v', 'v', 'v']);
  t.equal(loads, 1);
});

t.test('a caller waits at most waitMs; the fetch goes on and serves later callers', async (t) => {
  const { c } = cache(
    async () => {
      await sleep(150);
      return 'late';
    },
    { timeout: 1000 },
  );
  const started = Date.now();
  await t.rejects(c.fetch(30), { name: 'FetchUnavailableError', message: 'no answer within 30 ms' });
  t.ok(Date.now() - started < 140, 'gave up before the fetch finished');
  t.ok(c.fetching, 'the fetch is still in flight');
  t.equal(await c.fetch(1000), 'late', 'the next caller joins it');
  t.notOk(c.failing, 'a caller giving up is not a failure');
});

t.test('a loader that ignores its signal still counts as failed after timeout', async (t) => {
  const { c, events } = cache(() => new Promise<string>(() => undefined), { timeout: 50 });
  // The cache's timers do not keep a process alive (a server does); this test has nothing else running.
  const keepAlive = setTimeout(() => undefined, 5000);
  t.teardown(() => clearTimeout(keepAlive));
  await t.rejects(c.fetch(5000), { name: 'FetchUnavailableError', message: 'no answer within 50 ms' });
  t.notOk(c.fetching, 'nothing left in flight');
  t.same(events, ['failed 1 retry in 1000']);
});

t.test('a loader that throws synchronously is a failed fetch', async (t) => {
  const { c } = cache(() => {
    throw new Error('bad');
  });
  await t.rejects(c.fetch(100), { cause: { message: 'bad' } });
  t.ok(c.failing);
});

t.test('a subscriber that throws does not break the cache', async (t) => {
  const { c } = cache(
    async () => {
      throw new Error('down');
    },
    {
      events: {
        failed: () => {
          throw new Error('logger broken');
        },
      },
    },
  );
  await t.rejects(c.fetch(100), { cause: { message: 'down' } });
  t.ok(c.backingOff);
});
