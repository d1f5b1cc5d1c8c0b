// A local server of client ID metadata documents (draft-ietf-oauth-client-id-metadata-document) for tests: on a
// loopback address over http, which an authorization server with a development (http) issuer accepts as a
// client_id. Each document is served as JSON at the path it was put under.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DocumentServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Serves `body` (JSON-encoded unless a string) at `path`, with the given headers; returns its URL. */
  put(path: string, body: unknown, headers?: Record<string, string>): string;
  /** The paths requested so far, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startDocumentServer(): Promise<DocumentServer> {
  const documents = new Map<string, { body: string; headers: Record<string, string> }>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    const doc = documents.get(path);
    if (!doc) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end('{"error":"not_found"}');
    }
    res.writeHead(200, { 'content-type': 'application/json', ...doc.headers });
    res.end(doc.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    put(path, body, headers = {}) {
      documents.set(path, { body: typeof body === 'string' ? body : JSON.stringify(body), headers });
      return `${origin}${path}`;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
