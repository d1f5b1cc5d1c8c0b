import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { readConfig } from '../../src/config.js';
import { UpstreamUnavailableError } from '../../src/errors.js';
import {
  InsufficientScopeError,
  ResourceApi,
  ResourceNotFoundError,
  ResourceResponseError,
  TokenRejectedError,
} from '../../src/plugins/resource-api.js';

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
  const api = new ResourceApi(readConfig({ RESOURCE_SERVER: await startServer(t) }));
  const enc = encodeURIComponent;
  await t.rejects(api.get('tok', `/401/${enc('Bearer error="invalid_token"')}`), TokenRejectedError);
  await t.rejects(api.get('tok', '/401'), TokenRejectedError, 'a bare 401 also means the token did not work');
  const scoped = await api
    .get('tok', `/403/${enc('Bearer error="insufficient_scope", scope="documents:read"')}`)
    .catch((e: unknown) => e);
  t.type(scoped, InsufficientScopeError);
  t.equal((scoped as InsufficientScopeError).requiredScope, 'documents:read');
  await t.rejects(api.get('tok', '/403'), InsufficientScopeError);
  await t.rejects(api.get('tok', '/404'), ResourceNotFoundError);
  await t.rejects(api.get('tok', '/502'), UpstreamUnavailableError);
  await t.rejects(api.get('tok', `/503/${enc('Bearer realm="x"')}`), UpstreamUnavailableError);
  await t.rejects(api.get('tok', '/409'), ResourceResponseError);
  await t.rejects(api.get('tok', `/400/${enc('Bearer error="invalid_request"')}`), ResourceResponseError);
});

t.test('bodies of the wrong shape are refused', async (t) => {
  const api = new ResourceApi(readConfig({ RESOURCE_SERVER: await startServer(t) }));
  // The fake answers every path under /200 with the same malformed body; the base URL is extended to reach it.
  const odd = new ResourceApi(readConfig({ RESOURCE_SERVER: `${(api as unknown as { base: string }).base}/200` }));
  await t.rejects(odd.listPhotos('tok'), ResourceResponseError);
  await t.rejects(odd.listDocuments('tok'), ResourceResponseError);
});
