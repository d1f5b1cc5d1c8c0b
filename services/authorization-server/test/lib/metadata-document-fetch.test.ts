// The SSRF guard of client metadata document fetches (src/lib/metadata-document-fetch.ts): which addresses are
// refused, and what the fetch refuses (scheme, redirect, size, time, content type) — against a local server on
// a loopback address (the development case) and with host resolution replaced, so no test needs DNS.
import t from 'tap';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  addressProblem,
  cacheLifetimeSeconds,
  fetchMetadataDocument,
  MetadataDocumentFetchError,
  type FetchPolicy,
} from '../../src/lib/metadata-document-fetch.js';

const PRIVATE = 'is private, loopback, link-local or reserved, and not fetched';
const addressRows: [string, string | null][] = [
  ['93.184.216.34', null],
  ['2606:2800:220:1:248:1893:25c8:1946', null],
  ['10.1.2.3', PRIVATE],
  ['172.16.0.1', PRIVATE],
  ['192.168.1.1', PRIVATE],
  ['127.0.0.1', PRIVATE],
  ['169.254.169.254', PRIVATE], // cloud metadata services
  ['100.64.0.1', PRIVATE], // CGNAT (RFC 6598)
  ['0.0.0.0', PRIVATE],
  ['224.0.0.1', PRIVATE], // multicast
  ['255.255.255.255', PRIVATE],
  ['::1', PRIVATE],
  ['::', PRIVATE],
  ['fe80::1', PRIVATE], // link-local
  ['fd00::1', PRIVATE], // unique-local
  ['ff02::1', PRIVATE], // multicast
  ['::ffff:127.0.0.1', PRIVATE], // IPv4-mapped loopback
  ['::ffff:7f00:1', PRIVATE], // the same in hex
  ['::ffff:a9fe:a9fe', PRIVATE], // IPv4-mapped 169.254.169.254
  ['::ffff:93.184.216.34', null], // IPv4-mapped public address
  ['64:ff9b::10.0.0.1', PRIVATE], // NAT64 of a private address
  ['64:ff9b::5db8:d822', null], // NAT64 of 93.184.216.34
  ['2002:a00:1::', PRIVATE], // 6to4
];

t.test('addresses: public ones pass, every special-purpose range is refused', async (t) => {
  for (const [address, problem] of addressRows)
    t.equal(addressProblem(address), problem && `the address ${address} ${problem}`, address);
  t.equal(addressProblem('127.0.0.1', true), null, 'loopback allowed for a loopback http document');
  t.equal(addressProblem('::1', true), null);
  t.equal(addressProblem('10.0.0.1', true), 'the address 10.0.0.1 is not a loopback address');
  t.equal(addressProblem('example.com'), '"example.com" is not an IP address');
});

t.test('cache lifetimes follow Cache-Control within the bounds', async (t) => {
  const bounds = { floor: 15, ceiling: 3600, fallback: 300 };
  const rows: [string | undefined, number][] = [
    [undefined, 300],
    ['max-age=600', 600],
    ['public, max-age=120', 120],
    ['max-age=2', 15],
    ['max-age=999999', 3600],
    ['no-store', 15],
    ['no-cache, max-age=600', 15],
    ['Max-Age=60', 60],
  ];
  for (const [header, seconds] of rows) t.equal(cacheLifetimeSeconds(header, bounds), seconds, String(header));
});

// A document server on 127.0.0.1.
const DOC = { client_id: 'x' };
const server: Server = createServer((req, res) => {
  switch (req.url) {
    case '/ok':
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'max-age=60' });
      return res.end(JSON.stringify(DOC));
    case '/plus-json':
      res.writeHead(200, { 'content-type': 'application/client-metadata+json' });
      return res.end(JSON.stringify(DOC));
    case '/redirect':
      res.writeHead(302, { location: '/ok' });
      return res.end();
    case '/html':
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('{}');
    case '/missing':
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end('{}');
    case '/not-json':
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"client_id":');
    case '/declared-big':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '6000' });
      return res.end(' '.repeat(6000));
    case '/streamed-big': {
      // No Content-Length: the limit must hold while reading.
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '.repeat(1000)), 5);
      req.socket.on('close', () => clearInterval(timer));
      return;
    }
    case '/slow':
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.write('{'); // and never finishes
    default:
      res.writeHead(500);
      res.end();
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => {
  server.closeAllConnections();
  server.close();
});
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const dev: FetchPolicy = { allowLoopbackHttp: true, timeoutMs: 300 };

async function problemOf(url: string, policy: FetchPolicy): Promise<string> {
  try {
    await fetchMetadataDocument(url, policy);
  } catch (err) {
    if (err instanceof MetadataDocumentFetchError) return err.problem;
    throw err;
  }
  throw new Error(`${url} was fetched`);
}

t.test('a JSON document is fetched with its Cache-Control', async (t) => {
  t.same(await fetchMetadataDocument(`${base}/ok`, dev), { body: DOC, cacheControl: 'max-age=60' });
  t.same((await fetchMetadataDocument(`${base}/plus-json`, dev)).body, DOC, 'application/<x>+json is JSON');
});

t.test('refusals of the fetch, each with its exact problem', async (t) => {
  const rows: [string, string, FetchPolicy, string][] = [
    [
      'a redirect is not followed',
      `${base}/redirect`,
      dev,
      'the document URL answered a redirect (302), which is not followed',
    ],
    ['another content type', `${base}/html`, dev, 'the document is not served as application/json'],
    ['a status other than 200', `${base}/missing`, dev, 'the document URL answered HTTP 404 (200 expected)'],
    ['invalid JSON', `${base}/not-json`, dev, 'the document is not valid JSON'],
    ['a declared size over 5 KB', `${base}/declared-big`, dev, 'the document is larger than 5120 bytes'],
    [
      'a streamed body over 5 KB',
      `${base}/streamed-big`,
      { ...dev, timeoutMs: 5000 },
      'the document is larger than 5120 bytes',
    ],
    ['too slow', `${base}/slow`, dev, 'the document did not arrive within 0.3 s'],
    [
      'http without a development issuer',
      `${base}/ok`,
      { allowLoopbackHttp: false },
      'the document must be served over https',
    ],
    ['http on a host that is not loopback', 'http://example.com/doc', dev, 'the document must be served over https'],
    [
      'an https address literal in a private range',
      'https://169.254.169.254/latest',
      dev,
      `the address 169.254.169.254 ${PRIVATE}`,
    ],
    ['an IPv4-mapped IPv6 literal', 'https://[::ffff:10.0.0.1]/doc', dev, `the address ::ffff:a00:1 ${PRIVATE}`],
  ];
  for (const [name, url, policy, problem] of rows) t.equal(await problemOf(url, policy), problem, name);
});

t.test('names are checked on the addresses the connection uses (DNS rebinding)', async (t) => {
  // Whatever a name resolved to before, the socket connects to what this lookup returns, and it is checked.
  const resolvingTo =
    (...addresses: string[]): FetchPolicy['resolve'] =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  const https = (resolve: FetchPolicy['resolve']): FetchPolicy => ({ allowLoopbackHttp: false, resolve });
  t.equal(
    await problemOf('https://client.example/doc', https(resolvingTo('10.0.0.7'))),
    `the address 10.0.0.7 ${PRIVATE}`,
  );
  t.equal(
    await problemOf('https://client.example/doc', https(resolvingTo('93.184.216.34', '127.0.0.1'))),
    `the address 127.0.0.1 ${PRIVATE}`,
    'one private address among public ones refuses the name',
  );
  t.equal(
    await problemOf('https://client.example/doc', https(resolvingTo('::ffff:192.168.0.1'))),
    `the address ::ffff:192.168.0.1 ${PRIVATE}`,
  );
  t.equal(
    await problemOf(
      'https://client.example/doc',
      https(async () => Promise.reject(new Error('ENOTFOUND'))),
    ),
    'the host client.example could not be resolved',
  );
  // A loopback http document whose name resolves elsewhere is refused too.
  const port = (server.address() as AddressInfo).port;
  t.equal(
    await problemOf(`http://localhost:${port}/ok`, { ...dev, resolve: resolvingTo('10.0.0.1') }),
    'the address 10.0.0.1 is not a loopback address',
  );
  t.same(
    (await fetchMetadataDocument(`http://localhost:${port}/ok`, { ...dev, resolve: resolvingTo('127.0.0.1') })).body,
    DOC,
  );
});
