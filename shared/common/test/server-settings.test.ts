// Trusted proxies, per-address keys and slow-client timeouts, shared by the three services.
import { connect } from 'node:net';
import Fastify from 'fastify';
import t from 'tap';
import {
  ConfigError,
  addressKey,
  checkServerSettings,
  echoInput,
  safeDescription,
  serverOptions,
  trustedProxies,
} from '../src/index.js';

t.test('TRUST_PROXY names proxies by address, CIDR range or preset; anything else stops the start', async (t) => {
  t.same(trustedProxies(''), []);
  t.same(trustedProxies(' 10.0.0.0/8 , 127.0.0.1,loopback, fd00::/8,::1 '), [
    '10.0.0.0/8',
    '127.0.0.1',
    'loopback',
    'fd00::/8',
    '::1',
  ]);
  for (const bad of ['true', '*', '10.0.0.0/33', 'fd00::/129', 'proxy.internal', '10.0.0.1/8/8', '1.2.3']) {
    t.throws(() => trustedProxies(bad), { name: 'ConfigError', message: /TRUST_PROXY/ }, bad);
  }
  t.throws(
    () => checkServerSettings({ TRUST_PROXY: '', REQUEST_TIMEOUT: 5, HEADERS_TIMEOUT: 6, KEEP_ALIVE_TIMEOUT: 5 }),
    ConfigError,
  );
});

t.test('X-Forwarded-For counts only from a named proxy', async (t) => {
  const build = async (proxies: string) => {
    const app = Fastify({
      ...serverOptions({ TRUST_PROXY: proxies, REQUEST_TIMEOUT: 30, HEADERS_TIMEOUT: 10, KEEP_ALIVE_TIMEOUT: 5 }),
      logger: false,
    });
    app.get('/ip', async (request) => ({ ip: request.ip }));
    t.teardown(() => app.close());
    return app;
  };
  const headers = { 'x-forwarded-for': '203.0.113.9' };
  const open = await build('');
  t.same(
    (await open.inject({ url: '/ip', headers, remoteAddress: '127.0.0.1' })).json(),
    { ip: '127.0.0.1' },
    'ignored by default',
  );
  const behind = await build('127.0.0.1');
  t.same(
    (await behind.inject({ url: '/ip', headers, remoteAddress: '127.0.0.1' })).json(),
    { ip: '203.0.113.9' },
    'from the named proxy',
  );
  t.same(
    (await behind.inject({ url: '/ip', headers, remoteAddress: '198.51.100.7' })).json(),
    { ip: '198.51.100.7' },
    'from anyone else: ignored',
  );
});

t.test('addressKey: IPv4 as it is, IPv4-mapped as IPv4, IPv6 by its /64', async (t) => {
  t.equal(addressKey('198.51.100.7'), '198.51.100.7');
  t.equal(addressKey('::ffff:198.51.100.7'), '198.51.100.7');
  t.equal(addressKey('2001:db8:aa:bb:1:2:3:4'), '2001:db8:aa:bb::/64');
  t.equal(addressKey('2001:db8:aa:bb::5'), '2001:db8:aa:bb::/64', 'the same network, another address');
  t.equal(addressKey('2001:0db8:0000:0001::1'), '2001:db8:0:1::/64', 'leading zeros do not make a new key');
  t.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
  t.equal(addressKey('::1'), '0:0:0:0::/64');
});

t.test('error descriptions: echoed input is cut to 200 characters and holds no CR, LF or quote', async (t) => {
  const echoed = echoInput(`${'g'.repeat(16 * 1024)}`);
  t.equal(echoed, `${'g'.repeat(200)}...`);
  t.equal(echoInput('a\r\nSet-Cookie: x="1"\\'), 'a??Set-Cookie: x=?1??');
  t.equal(safeDescription('Gone (RFC 8707 §2).'), 'Gone (RFC 8707 section 2).');
  t.equal(safeDescription('x'.repeat(5000)).length, 1000);
});

/** Opens a raw connection, writes `first`, then dribbles `byte` every `everyMs`; resolves with ms until the server closed it. */
function dribble(port: number, first: string, everyMs: number): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1', () => socket.write(first));
    const timer = setInterval(() => socket.write('a'), everyMs);
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      resolve(Date.now() - started);
    });
  });
}

t.test('slow clients are cut off: an unfinished header, a dribbling body, an idle keep-alive connection', async (t) => {
  const app = Fastify({
    ...serverOptions({ TRUST_PROXY: '', REQUEST_TIMEOUT: 3, HEADERS_TIMEOUT: 2, KEEP_ALIVE_TIMEOUT: 1 }),
    logger: false,
  });
  app.post('/upload', async () => ({ ok: true }));
  app.get('/ok', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const { port } = app.server.address() as { port: number };
  t.equal(app.server.headersTimeout, 2000);
  t.equal(app.server.requestTimeout, 3000);
  t.equal(app.server.keepAliveTimeout, 1000);

  // Headers never finished (slowloris): one header line byte by byte, never the blank line.
  const header = await dribble(port, 'GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: ', 200);
  t.ok(
    header >= 1500 && header < 5000,
    `unfinished header closed after ${header} ms (HEADERS_TIMEOUT 2 s, checked every second)`,
  );
  // A body that dribbles in one byte at a time.
  const body = await dribble(
    port,
    'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n',
    200,
  );
  t.ok(body >= 2500 && body < 6000, `dribbling body closed after ${body} ms (REQUEST_TIMEOUT 3 s)`);
  // An idle keep-alive connection after a complete request.
  const idle = await new Promise<number>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n'));
    let answered = 0;
    socket.on('data', () => (answered ||= Date.now()));
    socket.on('close', () => resolve(Date.now() - answered));
  });
  t.ok(
    idle >= 800 && idle < 3000,
    `idle keep-alive connection closed ${idle} ms after the answer (KEEP_ALIVE_TIMEOUT 1 s)`,
  );
});
