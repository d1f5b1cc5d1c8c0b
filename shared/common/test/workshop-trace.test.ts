// W3C Trace Context traceparent parsing, the bounded TraceStore, and the workshop-trace plugin.
import Fastify from 'fastify';
import t from 'tap';
import {
  NO_TRACE,
  OAuthError,
  TraceStore,
  MAX_STEP_DETAIL,
  MAX_STEP_TITLE,
  childTraceContext,
  formatTraceparent,
  isSignedTraceId,
  isValidTraceId,
  jsonErrors,
  newTraceContext,
  parseTraceparent,
  signedTraceId,
  workshopTrace,
  workshopTraceSecret,
  type TraceStep,
} from '../src/index.js';

const SECRET = 'test-workshop-trace-secret-32-chars!';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${PARENT_ID}-01`;

t.test('parseTraceparent accepts the W3C example and reads the sampled flag', async (t) => {
  t.same(parseTraceparent(VALID), { traceId: TRACE_ID, parentId: PARENT_ID, sampled: true });
  t.same(parseTraceparent(`00-${TRACE_ID}-${PARENT_ID}-00`), {
    traceId: TRACE_ID,
    parentId: PARENT_ID,
    sampled: false,
  });
  t.same(
    parseTraceparent(` ${VALID} `),
    { traceId: TRACE_ID, parentId: PARENT_ID, sampled: true },
    'surrounding whitespace',
  );
  // §3.2.4: a later version may append fields; the known ones are read the same way.
  t.same(parseTraceparent(`01-${TRACE_ID}-${PARENT_ID}-03-extra`), {
    traceId: TRACE_ID,
    parentId: PARENT_ID,
    sampled: true,
  });
});

t.test('parseTraceparent rejects malformed headers: no trace at all', async (t) => {
  const bad = [
    undefined,
    [VALID, VALID],
    '',
    'garbage',
    `00-${'0'.repeat(32)}-${PARENT_ID}-01`, // all-zero trace-id
    `00-${TRACE_ID}-${'0'.repeat(16)}-01`, // all-zero parent-id
    `ff-${TRACE_ID}-${PARENT_ID}-01`, // version ff is invalid
    `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`, // uppercase
    `00-${TRACE_ID}-${PARENT_ID}-01-extra`, // version 00 has exactly four fields
    `00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`,
    `00-${TRACE_ID}-${PARENT_ID}-1`,
    `${VALID}, ${VALID}`, // a repeated header as Node joins it
    `00-${TRACE_ID}-${PARENT_ID}-0g`,
    `01-${TRACE_ID}-${PARENT_ID}-01${'x'.repeat(600)}`,
  ];
  for (const header of bad) t.equal(parseTraceparent(header), null, JSON.stringify(header)?.slice(0, 80));
});

t.test('formatTraceparent and fresh contexts round-trip', async (t) => {
  t.equal(formatTraceparent({ traceId: TRACE_ID, parentId: PARENT_ID, sampled: true }), VALID);
  t.equal(
    formatTraceparent({ traceId: TRACE_ID, parentId: PARENT_ID, sampled: false }),
    `00-${TRACE_ID}-${PARENT_ID}-00`,
  );
  const context = newTraceContext(SECRET);
  t.ok(isValidTraceId(context.traceId));
  t.ok(isSignedTraceId(context.traceId, SECRET));
  t.same(parseTraceparent(formatTraceparent(context)), context);
  const child = childTraceContext(context);
  t.equal(child.traceId, context.traceId);
  t.not(child.parentId, context.parentId);
  t.notOk(isValidTraceId('0'.repeat(32)));
  t.notOk(isValidTraceId(TRACE_ID.toUpperCase()));
});

t.test('signed trace ids: only the holder of the secret can make one the servers accept', async (t) => {
  const id = signedTraceId(SECRET);
  t.match(id, /^[0-9a-f]{32}$/, 'an ordinary W3C trace-id');
  t.ok(isSignedTraceId(id, SECRET));
  t.notOk(isSignedTraceId(id, 'another-secret-of-32-characters!!'), 'another key');
  t.notOk(isSignedTraceId(TRACE_ID, SECRET), 'a made-up id');
  t.notOk(isSignedTraceId(`${id.slice(0, 31)}${id[31] === '0' ? '1' : '0'}`, SECRET), 'one digit changed');
  t.notOk(isSignedTraceId('0'.repeat(32), SECRET));
  t.not(signedTraceId(SECRET), id, 'fresh each time');
  t.throws(() => workshopTraceSecret(true, undefined), { name: 'ConfigError', message: /WORKSHOP_TRACE_SECRET/ });
  t.throws(() => workshopTraceSecret(true, 'short'), { name: 'ConfigError', message: /at least 32 characters/ });
  t.equal(workshopTraceSecret(false, undefined), undefined, 'not needed with workshop mode off');
});

const step = (title: string, at: string): TraceStep => ({ at, role: 'test', title, outcome: 'ok' });

t.test('TraceStore keeps steps in time order, late steps land where they happened', async (t) => {
  const store = new TraceStore();
  store.append(TRACE_ID, [step('b', '2025-01-01T00:00:02.000Z'), step('c', '2025-01-01T00:00:03.000Z')]);
  store.append(TRACE_ID, [step('a1', '2025-01-01T00:00:01.000Z'), step('a2', '2025-01-01T00:00:01.000Z')]);
  store.append(TRACE_ID, [step('c2', '2025-01-01T00:00:03.000Z')]);
  store.append(TRACE_ID, []);
  t.same(
    store.get(TRACE_ID)!.map((s) => s.title),
    ['a1', 'a2', 'b', 'c', 'c2'],
  );
  t.equal(store.get('f'.repeat(32)), null);
  const copy = store.get(TRACE_ID)!;
  copy[0]!.title = 'changed';
  t.equal(store.get(TRACE_ID)![0]!.title, 'a1', 'callers get copies');
  store.clear();
  t.equal(store.size, 0);
});

t.test('TraceStore is bounded: traces, steps per trace, age', async (t) => {
  let now = 0;
  const store = new TraceStore({ maxTraces: 3, maxSteps: 2, maxAgeMs: 1000, now: () => now });
  t.equal(new TraceStore().maxTraces, 1000);
  t.equal(new TraceStore().maxSteps, 200);
  t.equal(new TraceStore().maxAgeMs, 3_600_000);
  const id = (n: number) => n.toString(16).padStart(32, '0');
  store.append(id(1), [step('1', 'a'), step('2', 'b'), step('3', 'c')]);
  t.same(
    store.get(id(1))!.map((s) => s.title),
    ['1', '2'],
    'later steps are dropped',
  );
  store.append(id(2), [step('x', 'a')]);
  store.append(id(3), [step('x', 'a')]);
  now = 10;
  store.append(id(1), [step('4', 'd')]); // updating makes id(1) the most recent
  store.append(id(4), [step('x', 'a')]);
  t.equal(store.size, 3);
  t.equal(store.get(id(2)), null, 'the least recently updated trace is evicted');
  t.ok(store.get(id(1)));
  now = 1005;
  t.equal(store.get(id(3)), null, 'traces expire maxAgeMs after their last update');
  t.ok(store.get(id(1)));
  now = 2000;
  t.equal(store.size, 0);
});

t.test('TraceStore is bounded by bytes, and step texts are cut', async (t) => {
  const store = new TraceStore({ maxBytes: 50_000 });
  const id = (n: number) => n.toString(16).padStart(32, '0');
  const big = 'x'.repeat(10_000);
  for (let n = 1; n <= 20; n++) store.append(id(n), [{ at: 'a', role: 'r', title: big, detail: big, outcome: 'ok' }]);
  const [kept] = store.get(id(20))!;
  t.equal(kept!.title.length, MAX_STEP_TITLE, 'title cut');
  t.equal(kept!.detail!.length, MAX_STEP_DETAIL, 'detail cut');
  t.ok(kept!.title.endsWith('...'));
  t.ok(store.bytes <= 50_000, `bytes ${store.bytes} within the bound`);
  t.ok(store.size < 20 && store.size > 1, `oldest traces evicted (${store.size} kept)`);
  t.equal(store.get(id(1)), null, 'the least recently updated went first');
  store.clear();
  t.equal(store.bytes, 0);
});

async function buildApp(enabled: boolean, store = new TraceStore()) {
  const app = Fastify({ logger: false });
  await app.register(jsonErrors);
  await app.register(workshopTrace, { enabled, secret: SECRET, service: 'test-service', role: 'test role', store });
  app.get('/work', async (request) => {
    request.trace.record({ title: 'did something', detail: 'for a reason' });
    request.trace.record({ title: 'noted', outcome: 'info', at: '2000-01-01T00:00:00.000Z' });
    request.trace.recordAll([app.workshop.step({ title: 'earlier', at: '1999-01-01T00:00:00.000Z' })]);
    return { traceId: request.trace.traceId };
  });
  app.get('/fail', async (request) => {
    request.trace.record({ title: 'checked the thing' });
    throw new OAuthError('invalid_grant', 'The thing is wrong.');
  });
  return app;
}

t.test('plugin, workshop mode on: traceparent → steps at GET /workshop/traces/:traceId', async (t) => {
  const store = new TraceStore();
  const app = await buildApp(true, store);
  t.teardown(() => app.close());
  t.ok(app.workshop.enabled);
  const TRACE_ID = signedTraceId(SECRET);
  const VALID = `00-${TRACE_ID}-${PARENT_ID}-01`;

  const work = await app.inject({ url: '/work', headers: { traceparent: VALID } });
  t.same(work.json(), { traceId: TRACE_ID });
  const fail = await app.inject({ url: '/fail', headers: { traceparent: VALID } });
  t.equal(fail.statusCode, 400);

  const res = await app.inject(`/workshop/traces/${TRACE_ID}`);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  const body = res.json();
  t.equal(body.traceId, TRACE_ID);
  t.equal(body.service, 'test-service');
  t.same(
    body.steps.map((s: TraceStep) => [s.role, s.title, s.outcome]),
    [
      ['test role', 'earlier', 'ok'],
      ['test role', 'noted', 'info'],
      ['test role', 'did something', 'ok'],
      ['test role', 'checked the thing', 'ok'],
      ['test role', 'Rejected: invalid_grant', 'rejected'],
    ],
  );
  t.equal(body.steps[2].detail, 'for a reason');
  t.notOk('detail' in body.steps[1], 'no detail key when there is none');
  t.equal(body.steps[4].detail, 'HTTP 400: The thing is wrong.');
  t.ok(!Number.isNaN(Date.parse(body.steps[2].at)));

  // Requests without a (valid) traceparent record nothing.
  const untraced = await app.inject({ url: '/work' });
  t.same(untraced.json(), { traceId: null });
  await app.inject({ url: '/work', headers: { traceparent: `00-${'0'.repeat(32)}-${PARENT_ID}-01` } });
  await app.inject({ url: '/fail' });
  // Well-formed but not signed with the secret: a made-up trace id creates and extends nothing.
  const forged = `00-${'a'.repeat(32)}-${PARENT_ID}-01`;
  t.same((await app.inject({ url: '/work', headers: { traceparent: forged } })).json(), { traceId: null });
  await app.inject({ url: '/fail', headers: { traceparent: forged } });
  t.equal(store.size, 1);
  const notSigned = await app.inject(`/workshop/traces/${'a'.repeat(32)}`);
  t.equal(notSigned.statusCode, 404);
  t.same(notSigned.json(), { error: 'not_found', error_description: 'No such trace.' });

  const nobodyRecorded = signedTraceId(SECRET);
  const unknown = await app.inject(`/workshop/traces/${nobodyRecorded}`);
  t.equal(unknown.statusCode, 200);
  t.same(unknown.json(), { traceId: nobodyRecorded, service: 'test-service', steps: [] });

  for (const bad of ['abc', TRACE_ID.toUpperCase(), '0'.repeat(32), `${TRACE_ID}0`]) {
    const r = await app.inject(`/workshop/traces/${bad}`);
    t.equal(r.statusCode, 400, bad);
    t.equal(r.json().error, 'invalid_request');
  }
});

t.test('plugin, workshop mode off: nothing recorded, trace endpoint 404', async (t) => {
  const store = new TraceStore();
  const app = await buildApp(false, store);
  t.teardown(() => app.close());
  t.notOk(app.workshop.enabled);
  const work = await app.inject({ url: '/work', headers: { traceparent: VALID } });
  t.same(work.json(), { traceId: null });
  await app.inject({ url: '/fail', headers: { traceparent: VALID } });
  t.equal(store.size, 0);
  const res = await app.inject(`/workshop/traces/${TRACE_ID}`);
  t.equal(res.statusCode, 404);
  t.same(res.json(), { error: 'not_found' });
  t.equal((await app.inject('/workshop/traces/not-an-id')).statusCode, 404, 'no hint that the endpoint exists');
});

t.test('NO_TRACE does nothing', async (t) => {
  NO_TRACE.record({ title: 'x' });
  NO_TRACE.recordAll([step('x', 'a')]);
  t.equal(NO_TRACE.traceId, null);
});
