import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { readConfig } from '../../src/config.js';
import { ProtocolEvents } from '@quartet/common';
import { ResourceError, UpstreamUnavailableError } from '../../src/oauth/errors.js';
import type { ClientEvents } from '../../src/oauth/events.js';
import { ResourceApi } from '../../src/plugins/resource-api.js';

const events = () => new ProtocolEvents<ClientEvents>();

// Answers with the status (and optional WWW-Authenticate) named in the path: /<status>[/<challenge>].
async function startServer(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const server: Server = createServer((req, res) => {
    const [, status, challenge] = (req.url ?? '').split('/');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (challenge && status !== '200') headers['www-authenticate'] = decodeURIComponent(challenge);
    res.writeHead(Number(status), headers);
    res.end(status === '200' ? '{"photos": "not-a-list", "documents": null}' : '{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('RFC 6750 error responses become typed errors', async (t) => {
  const api = new ResourceApi(readConfig({ RESOURCE_SERVER: await startServer(t) }), events());
  const enc = encodeURIComponent;
  // path answered → the error thrown (a reason for ResourceError), and the scope it names
  const cases: [string, string, string?][] = [
    [`/401/${enc('Bearer error="invalid_token"')}`, 'token-rejected'],
    ['/401', 'token-rejected'], // a bare 401 also means the token did not work
    [
      `/403/${enc('Bearer error="insufficient_scope", scope="documents:read"')}`,
      'insufficient-scope',
      'documents:read',
    ],
    ['/403', 'insufficient-scope'],
    ['/404', 'not-found'],
    ['/502', 'upstream'],
    [`/503/${enc('Bearer realm="x"')}`, 'upstream'],
    ['/409', 'unexpected-response'],
    [`/400/${enc('Bearer error="invalid_request"')}`, 'unexpected-response'],
  ];
  for (const [path, reason, scope] of cases) {
    const err = await api.get('tok', path).catch((e: unknown) => e);
    if (reason === 'upstream') {
      t.type(err, UpstreamUnavailableError, path);
      continue;
    }
    t.type(err, ResourceError, path);
    t.equal((err as ResourceError).reason, reason, path);
    t.equal((err as ResourceError).scope, scope, `${path}: scope`);
  }
});

t.test('bodies of the wrong shape are refused', async (t) => {
  const api = new ResourceApi(readConfig({ RESOURCE_SERVER: await startServer(t) }), events());
  // The fake answers every path under /200 with the same malformed body; the base URL is extended to reach it.
  const odd = new ResourceApi(
    readConfig({ RESOURCE_SERVER: `${(api as unknown as { base: string }).base}/200` }),
    events(),
  );
  await t.rejects(odd.listPhotos('tok'), { name: 'ResourceError', reason: 'unexpected-response' });
  await t.rejects(odd.listDocuments('tok'), { name: 'ResourceError', reason: 'unexpected-response' });
});

t.test('calls for a traced flow carry its traceparent and emit what was sent and answered', async (t) => {
  const bus = events();
  const seen: string[] = [];
  bus.on('rs.request', (e) => seen.push(`request ${e.method} ${new URL(e.url).pathname} ${e.traceparent}`));
  bus.on('rs.response', (e) => seen.push(`response ${e.path} ${e.status} ${e.challenge?.error ?? ''}`));
  const api = new ResourceApi(readConfig({ RESOURCE_SERVER: await startServer(t) }), bus);
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const flow = { traceId, request: {} as never };
  await api
    .get('tok', `/401/${encodeURIComponent('Bearer error="invalid_token"')}`, 'application/json', flow)
    .catch(() => undefined);
  t.equal(seen.length, 2);
  t.match(seen[0], new RegExp(`^request GET /401/\\S+ 00-${traceId}-[0-9a-f]{16}-01$`));
  t.match(seen[1], /^response \/401\/\S+ 401 invalid_token$/);
  await api.get('tok', '/404').catch(() => undefined);
  t.equal(seen.length, 2, 'nothing emitted for a call outside a traced flow');
});
