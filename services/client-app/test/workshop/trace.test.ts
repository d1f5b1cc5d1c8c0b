import t from 'tap';
import { signedTraceId } from '@quartet/common';
import { TEST_TRACE_SECRET } from '@quartet/testing';
import { isTraceId, traceparent } from '../../src/workshop/trace.js';

const newTraceId = () => signedTraceId(TEST_TRACE_SECRET);

t.test('trace ids and traceparent follow W3C Trace Context', async (t) => {
  const id = newTraceId();
  t.match(id, /^[0-9a-f]{32}$/);
  t.ok(isTraceId(id));
  t.notOk(isTraceId('0'.repeat(32)), 'all zeros is invalid');
  t.notOk(isTraceId('ABCDEF'.padEnd(32, '0')), 'uppercase is invalid');
  const a = traceparent(id);
  const b = traceparent(id);
  t.match(a, new RegExp(`^00-${id}-[0-9a-f]{16}-01$`));
  t.not(a, b, 'a new parent id per request');
});
