// The browser-leg steps waiting in memory for a trace (plugins/workshop-tracing.ts PendingSteps): bounded in
// number and in time, because anyone can start an authorization.
import t from 'tap';
import type { TraceStep } from '@quartet/common';
import { PendingSteps } from '../../src/plugins/workshop-tracing.js';

const step = (title: string): TraceStep => ({
  at: new Date(0).toISOString(),
  role: 'authorization server',
  title,
  outcome: 'ok',
});

t.test('steps add up under their key and are taken once', async (t) => {
  const pending = new PendingSteps(60_000, 10);
  pending.add('r1', [step('a')]);
  pending.add('r1', [step('b')]);
  t.same(
    pending.take('r1').map((s) => s.title),
    ['a', 'b'],
  );
  t.same(pending.take('r1'), [], 'taken');
});

t.test('the oldest key goes beyond maxEntries; a key expires ttl after it started', async (t) => {
  let now = 0;
  const pending = new PendingSteps(1000, 2, () => now);
  pending.add('r1', [step('1')]);
  pending.add('r2', [step('2')]);
  pending.add('r3', [step('3')]);
  t.equal(pending.size, 2);
  t.same(pending.take('r1'), [], 'evicted');
  now = 1000;
  t.equal(pending.size, 0, 'expired');
  t.same(pending.take('r3'), []);
});
