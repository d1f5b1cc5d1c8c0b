// The key-value store follows REDIS_URL: Redis when set, else the in-process store — which says so in one
// warn line at start (and only then), and keeps the protocol's guarantees (single-use codes) in-process too.
import { Writable } from 'node:stream';
import t from 'tap';
import { SINGLE_INSTANCE_NOTICE } from '@quartet/common';
import { testRedisUrl } from '@quartet/testing';
import { createEnvironment } from '../helper.js';
import { DEMO_REDIRECT, obtainCode, tokenRequest } from '../browser.js';

interface LogLine {
  level: number;
  msg?: string;
}

/** A pino destination collecting the app's JSON log lines. */
function captureLogs() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { lines, logger: { level: 'info', stream } };
}

const WARN = 40;
const env = await createEnvironment(t);

t.test('REDIS_URL unset: the in-process store, announced by exactly one warn line', async (t) => {
  const logs = captureLogs();
  const app = await env.build({ REDIS_URL: '' }, { logger: logs.logger });
  t.teardown(() => app.close());
  t.equal(app.config.REDIS_URL, undefined);
  t.match(app.kv.description, /in-process/);
  const notices = logs.lines.filter((l) => l.msg === SINGLE_INSTANCE_NOTICE);
  t.equal(notices.length, 1, 'logged once');
  t.equal(notices[0]?.level, WARN, 'at warn level');
  t.match(SINGLE_INSTANCE_NOTICE, /REDIS_URL/, 'the line says how to use Redis');

  // Single-use codes in-process: of two concurrent redemptions exactly one succeeds.
  const { code, verifier } = await obtainCode(app);
  const form = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT };
  const results = await Promise.all(
    [1, 2].map(() => tokenRequest(app, form, { basic: ['demo-client', app.config.DEMO_CLIENT_SECRET] })),
  );
  t.same(results.map((r) => r.statusCode).sort(), [200, 400]);
  t.same((await app.inject({ url: '/readyz' })).statusCode, 200);
});

// Building the app does not talk to Redis, so without a test Redis an unreachable URL shows the choice
// just as well (nothing listens on the discard port).
t.test('REDIS_URL set: Redis, and no single-instance line', async (t) => {
  const logs = captureLogs();
  const app = await env.build({ REDIS_URL: testRedisUrl() ?? 'redis://127.0.0.1:9' }, { logger: logs.logger });
  t.teardown(() => app.close());
  t.match(app.kv.description, /^Redis at /);
  t.equal(logs.lines.filter((l) => l.msg === SINGLE_INSTANCE_NOTICE).length, 0);
  t.notOk(
    logs.lines.some((l) => /single-instance/.test(l.msg ?? '')),
    'no mention of single-instance mode',
  );
});
