import t from 'tap';
import { signedTraceId } from '@quartet/common';
import { TEST_TRACE_SECRET } from '@quartet/testing';
import { InspectorStore } from '../../../src/workshop/inspector/store.js';

const newTraceId = () => signedTraceId(TEST_TRACE_SECRET);

t.test('the store is bounded: browsers (LRU), flows per browser, steps per flow, age', async (t) => {
  const store = new InspectorStore({ browsers: 2, flowsPerBrowser: 2, stepsPerFlow: 3, ttlMs: 60_000 });
  const r1 = store.startFlow('b1', newTraceId(), 'one');
  for (let i = 0; i < 10; i++) r1.record({ role: 'client', title: `s${i}`, outcome: 'info' });
  t.equal(r1.flow.steps.length, 4, '3 steps + one "not recorded" marker');
  t.match(r1.flow.steps[3]!.title, /not recorded/);
  store.startFlow('b1', newTraceId(), 'two');
  const third = store.startFlow('b1', newTraceId(), 'three');
  t.same(
    store.flows('b1').map((f) => f.label),
    ['three', 'two'],
    'newest first, oldest dropped',
  );
  t.equal(store.find('b1', third.traceId)?.label, 'three');
  t.equal(store.recorder('b1', r1.traceId), undefined, 'the dropped flow is gone');
  t.equal(store.recorder('b2', third.traceId), undefined, 'another browser cannot reach this flow');

  store.startFlow('b2', newTraceId(), 'x');
  store.recorder('b1', third.traceId)!.record({ role: 'client', title: 'touch', outcome: 'info' });
  store.startFlow('b3', newTraceId(), 'y');
  t.equal(store.size, 2);
  t.equal(store.flows('b2').length, 0, 'least recently used browser evicted');
  t.equal(store.flows('b1').length, 2, 'recently touched browser kept');

  const old = new InspectorStore({ browsers: 5, flowsPerBrowser: 5, stepsPerFlow: 5, ttlMs: -1 });
  old.startFlow('b', newTraceId(), 'z');
  t.same(old.flows('b'), [], 'expired records are dropped');
});
