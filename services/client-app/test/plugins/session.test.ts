// The session store follows REDIS_URL: unset -> the in-process store and ONE warn line saying so (and how
// to switch to Redis); set -> Redis, and no such line. The rest of the suite exercises the store's
// semantics (sessions, single-use pending authorizations) through the app in whichever mode the run uses.
import { Writable } from 'node:stream';
import t from 'tap';
import { InMemoryKeyValueStore, SINGLE_INSTANCE_NOTICE, loggerOptions } from '@quartet/common';
import { createRedisPrefix, testRedisUrl } from '@quartet/testing';
import { buildApp } from '../../src/app.js';
import { readConfig } from '../../src/config.js';
import { unusedPort } from '../fixtures/http.js';
import { Browser, startFakeAuthorizationServer, startFlow } from '../helper.js';

interface LogLine {
  level: number;
  msg?: string;
}

/** Builds the app with the real (shared) logger options, writing into an array instead of stdout. */
async function buildLogged(t: Tap, env: Record<string, string>) {
  const as = await startFakeAuthorizationServer();
  t.teardown(() => as.close());
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const config = readConfig({ AUTHORIZATION_SERVER: as.url, LOG_LEVEL: 'info', ...env });
  const app = await buildApp(config, { logger: { ...(loggerOptions('client-app', 'info') as object), stream } });
  t.teardown(() => app.close());
  await app.ready();
  return { app, lines, notices: () => lines.filter((l) => l.msg === SINGLE_INSTANCE_NOTICE) };
}

interface Tap {
  teardown(fn: () => unknown): void;
}

t.test('REDIS_URL unset: in-process store, the single-instance line is logged exactly once, at warn', async (t) => {
  const { app, notices } = await buildLogged(t, {});
  t.match(app.kv.description, /^in-process store/);
  // Requests (a session created, a flow started, readiness probed) must not repeat it.
  const browser = new Browser(app);
  await browser.get('/');
  await startFlow(browser);
  t.equal((await app.inject('/readyz')).statusCode, 200, 'the in-process store is always ready');
  t.equal(notices().length, 1, 'logged once');
  t.equal(notices()[0]?.level, 40, 'at warn level');
  t.match(SINGLE_INSTANCE_NOTICE, /REDIS_URL/, 'the line says how to use Redis');
});

t.test('REDIS_URL set: the Redis store, no single-instance line', async (t) => {
  // A real Redis when the run has one; else a URL where nothing listens (building the app does not connect).
  const prefix = createRedisPrefix('client-app-notice');
  t.teardown(() => prefix.cleanup());
  const url = testRedisUrl() ?? `redis://127.0.0.1:${await unusedPort()}`;
  const { app, lines, notices } = await buildLogged(t, { REDIS_URL: url, REDIS_PREFIX: prefix.prefix });
  t.match(app.kv.description, /^Redis at 127\.0\.0\.1:\d+ \(key prefix "quartet-test:client-app-notice:/);
  t.equal(notices().length, 0, 'not logged');
  t.notOk(
    lines.some((l) => /single-instance/.test(l.msg ?? '')),
    'nothing about single-instance mode',
  );
});

t.test('an injected store is used as given, without the line (its owner chose it)', async (t) => {
  const as = await startFakeAuthorizationServer();
  const store = new InMemoryKeyValueStore();
  t.teardown(async () => {
    await store.close();
    await as.close();
  });
  const config = readConfig({ AUTHORIZATION_SERVER: as.url });
  const app = await buildApp(config, { logger: false, store });
  t.teardown(() => app.close());
  t.equal(app.kv, store);
  await startFlow(new Browser(app));
  t.ok(store.size > 0, 'the flow state went into the injected store');
});
