import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import t from 'tap';
import {
  ConfigError,
  currentRequestId,
  jsonErrors,
  loggerOptions,
  observability,
  requestIdFrom,
  requestIdHeaders,
  serverOptions,
  shutdownSeconds,
} from '../src/index.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

/** An app with the shared logger writing to `lines`, observability, and a few routes. */
/** The messages of the JSON log lines that carry request id `reqId`, in order. */
function messagesOf(lines: string[], reqId: string): string[] {
  return lines
    .map((l) => JSON.parse(l) as { reqId?: string; msg: string })
    .filter((l) => l.reqId === reqId)
    .map((l) => l.msg);
}

async function build(lines: string[] = [], level = 'info', propagateRequestIds = true) {
  const app = Fastify({
    logger: { ...(loggerOptions('test', level) as object), stream: { write: (line: string) => void lines.push(line) } },
    ...serverOptions(),
  });
  await app.register(observability, { propagateRequestIds });
  await app.register(jsonErrors);
  app.get('/items/:id', async (request) => {
    request.log.info('handling item');
    return { requestId: currentRequestId(), headers: requestIdHeaders() };
  });
  app.post('/form', async (request) => ({ requestId: currentRequestId(), body: request.body }));
  app.get('/fail', async () => {
    throw new Error('boom');
  });
  app.get('/readyz', async () => ({ status: 'ok' }));
  return app;
}

/** The value of one series in an exposition text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('request ids: a safe x-request-id is kept, else traceparent, else a random UUID', async (t) => {
  t.equal(requestIdFrom({ 'x-request-id': 'abc-123_X.y:z' }), 'abc-123_X.y:z');
  t.equal(requestIdFrom({ 'x-request-id': ` ${'a'.repeat(128)} ` }), 'a'.repeat(128));
  t.equal(requestIdFrom({ traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` }), `${TRACE_ID}-${PARENT_ID}`);
  // x-request-id wins over traceparent.
  t.equal(requestIdFrom({ 'x-request-id': 'given', traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` }), 'given');
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  for (const bad of ['a'.repeat(129), 'has space', 'new\nline', '{"json":1}', '', 'é']) {
    t.match(requestIdFrom({ 'x-request-id': bad }), uuid, `replaced: ${JSON.stringify(bad)}`);
  }
  t.match(requestIdFrom({ 'x-request-id': ['a', 'b'] as unknown as string }), uuid, 'a repeated header is not trusted');
  for (const bad of [
    `00-${'0'.repeat(32)}-${PARENT_ID}-01`,
    `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
    `00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`,
    'garbage',
  ]) {
    t.match(requestIdFrom({ traceparent: bad }), uuid, `invalid traceparent ignored: ${bad}`);
  }
  t.not(requestIdFrom({}), requestIdFrom({}), 'fresh ids differ');
});

t.test(
  'request ids: echoed on every response, current in handlers (also after body parsing), on every log line',
  async (t) => {
    const lines: string[] = [];
    const app = await build(lines);
    t.teardown(() => app.close());

    const res = await app.inject({ url: '/items/42', headers: { 'x-request-id': 'req-from-caller' } });
    t.equal(res.headers['x-request-id'], 'req-from-caller');
    t.same(res.json(), { requestId: 'req-from-caller', headers: { 'x-request-id': 'req-from-caller' } });
    t.same(
      messagesOf(lines, 'req-from-caller'),
      ['incoming request', 'handling item', 'request completed'],
      'every line of the request carries reqId',
    );

    const form = await app.inject({
      method: 'POST',
      url: '/form',
      payload: { a: 1 },
      headers: { 'x-request-id': 'form-req' },
    });
    t.same(form.json(), { requestId: 'form-req', body: { a: 1 } }, 'the id survives body parsing');

    const generated = await app.inject('/items/1');
    t.match(generated.headers['x-request-id'], /^[0-9a-f-]{36}$/);
    t.equal(generated.json().requestId, generated.headers['x-request-id']);

    for (const url of ['/nowhere', '/fail']) {
      const res = await app.inject({ url, headers: { 'x-request-id': 'err-req' } });
      t.equal(res.headers['x-request-id'], 'err-req', `${url}: echoed on errors too`);
    }
    t.equal(currentRequestId(), undefined, 'no current id outside a request');
    t.same(requestIdHeaders(), {});
  },
);

t.test('request ids without propagateRequestIds: echoed and logged, but not current in handlers', async (t) => {
  const lines: string[] = [];
  const app = await build(lines, 'info', false);
  t.teardown(() => app.close());
  const res = await app.inject({ url: '/items/42', headers: { 'x-request-id': 'plain-req' } });
  t.equal(res.headers['x-request-id'], 'plain-req', 'still echoed');
  t.strictSame(res.json(), { headers: {} }, 'no current id, nothing to send on: the service calls no one');
  t.same(
    messagesOf(lines, 'plain-req'),
    ['incoming request', 'handling item', 'request completed'],
    'still on every log line',
  );
});

t.test('metrics: requests by method, route pattern and status; latency histogram; process metrics', async (t) => {
  const app = await build();
  t.teardown(() => app.close());
  await app.inject('/items/secret-id-1');
  await app.inject('/items/secret-id-2');
  await app.inject('/fail');
  await app.inject('/nowhere/token-abc?code=xyz');
  await app.inject('/metrics');

  const res = await app.inject('/metrics');
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  t.equal(sample(text, 'http_requests_total{method="GET",route="/items/:id",status_code="200"}'), 2);
  t.equal(sample(text, 'http_requests_total{method="GET",route="/fail",status_code="500"}'), 1);
  t.equal(sample(text, 'http_requests_total{method="GET",route="unmatched",status_code="404"}'), 1);
  t.equal(sample(text, 'http_request_duration_seconds_count{method="GET",route="/items/:id",status_code="200"}'), 2);
  t.ok(
    sample(
      text,
      'http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/items/:id",status_code="200"}',
    ) === 2,
  );
  t.notMatch(text, /secret-id|token-abc|xyz/, 'no raw URL in any label');
  t.notMatch(text, /route="\/metrics"/, 'scrapes are not counted');
  t.match(text, /process_cpu_user_seconds_total/);
  t.match(text, /nodejs_eventloop_lag_seconds/);
});

t.test('metrics: counters added by a service, created at zero', async (t) => {
  const app = await build();
  t.teardown(() => app.close());
  const plain = app.metrics.counter({ name: 'test_events_total', help: 'Events.' });
  const labelled = app.metrics.counter({
    name: 'test_rejections_total',
    help: 'Rejections.',
    labelNames: ['reason'],
    initial: [{ reason: 'a' }, { reason: 'b' }],
  });
  let text = (await app.inject('/metrics')).body;
  t.equal(sample(text, 'test_events_total'), 0);
  t.equal(sample(text, 'test_rejections_total{reason="a"}'), 0);
  plain.inc();
  labelled.inc({ reason: 'b' });
  text = (await app.inject('/metrics')).body;
  t.equal(sample(text, 'test_events_total'), 1);
  t.equal(sample(text, 'test_rejections_total{reason="a"}'), 0);
  t.equal(sample(text, 'test_rejections_total{reason="b"}'), 1);

  // Two apps in one process: separate registries, no duplicate-metric error.
  const other = await build();
  t.teardown(() => other.close());
  other.metrics.counter({ name: 'test_events_total', help: 'Events.' });
  t.equal(sample((await other.inject('/metrics')).body, 'test_events_total'), 0);
});

t.test('draining: readiness 503, everything else served, connections closed after their response', async (t) => {
  const app = await build();
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const { port } = app.server.address() as AddressInfo;
  const get = (path: string) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      http
        .get({ port, host: '127.0.0.1', path, agent: new http.Agent({ keepAlive: true }) }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        })
        .on('error', reject);
    });

  let ready = await get('/readyz');
  t.equal(ready.status, 200);
  t.equal(ready.headers.connection, 'keep-alive');
  t.equal(app.draining.active, false);

  app.draining.start();
  ready = await get('/readyz');
  t.equal(ready.status, 503);
  t.equal(ready.headers['retry-after'], '5');
  t.same(JSON.parse(ready.body), { status: 'draining' });
  t.equal(ready.headers.connection, 'close');
  const item = await get('/items/1');
  t.equal(item.status, 200, 'other routes still answer while draining');
  t.equal(item.headers.connection, 'close');
});

t.test(
  'server options: request ids, one plugin timeout, and requests reaching an open connection during close are served',
  async (t) => {
    const options = serverOptions();
    t.equal(options.return503OnClosing, false);
    t.equal(options.pluginTimeout, 120_000, 'one plugin timeout for every service');
    t.equal(options.genReqId?.({ headers: { 'x-request-id': 'abc' } } as never), 'abc');
  },
);

t.test('app.close() drains too (preClose)', async (t) => {
  const app = await build();
  await app.ready();
  t.equal(app.draining.active, false);
  await app.close();
  t.equal(app.draining.active, true);
});

t.test('shutdownSeconds: default, whole seconds within bounds, else a ConfigError naming the variable', async (t) => {
  t.equal(shutdownSeconds({}, 'SHUTDOWN_DELAY_SECONDS', 0), 0);
  t.equal(shutdownSeconds({ SHUTDOWN_DELAY_SECONDS: '' }, 'SHUTDOWN_DELAY_SECONDS', 3), 3);
  t.equal(shutdownSeconds({ SHUTDOWN_DELAY_SECONDS: '10' }, 'SHUTDOWN_DELAY_SECONDS', 0), 10);
  for (const bad of ['-1', '1.5', 'ten', '301']) {
    t.throws(() => shutdownSeconds({ SHUTDOWN_TIMEOUT_SECONDS: bad }, 'SHUTDOWN_TIMEOUT_SECONDS', 25), ConfigError);
    t.throws(
      () => shutdownSeconds({ SHUTDOWN_TIMEOUT_SECONDS: bad }, 'SHUTDOWN_TIMEOUT_SECONDS', 25),
      /SHUTDOWN_TIMEOUT_SECONDS/,
    );
  }
});

t.test('logger: secrets are redacted wherever the protocol names them, at any level', async (t) => {
  const lines: string[] = [];
  const app = await build(lines, 'trace');
  t.teardown(() => app.close());
  const secrets = {
    password: 'pw-SECRET-1',
    client_secret: 'cs-SECRET-2',
    code: 'code-SECRET-3',
    code_verifier: 'cv-SECRET-4',
    refresh_token: 'rt-SECRET-5',
    access_token: 'at-SECRET-6',
    token: 'tk-SECRET-7',
    id_token: 'it-SECRET-8',
    _csrf: 'csrf-SECRET-9',
    client_assertion: 'eyJ.ca-SECRET-17.sig',
  };
  app.log.info(secrets, 'top level');
  app.log.info({ body: secrets, params: secrets }, 'one level down');
  app.log.info(
    {
      headers: {
        authorization: 'Bearer hdr-SECRET-10',
        cookie: 'sid=ck-SECRET-11',
        'set-cookie': ['sid=sc-SECRET-12'],
      },
    },
    'headers',
  );
  app.log.info({ upstream: { headers: { authorization: 'Basic up-SECRET-13' } } }, 'nested headers');
  await app.inject({
    url: '/items/1?code=q-SECRET-14&state=st',
    headers: { authorization: 'Bearer req-SECRET-15', cookie: 'sid=req-SECRET-16' },
  });
  const output = lines.join('');
  t.ok(lines.length >= 7);
  t.notMatch(output, /SECRET/, 'no secret value in any line');
  t.match(output, /\[redacted\]/);
  t.match(output, /"url":"\/items\/1"/, 'the path is logged, without its query');
});

t.test('the observability plugin works next to a plain http server (no listen): inject only', async (t) => {
  // A guard for apps built without requestIdOptions(): ids are Fastify's own, still echoed.
  const app = Fastify({ logger: false });
  await app.register(observability, { propagateRequestIds: true });
  app.get('/x', async () => ({ id: currentRequestId() }));
  t.teardown(() => app.close());
  const res = await app.inject('/x');
  t.equal(res.headers['x-request-id'], res.json().id);
});
