// A small keep-alive HTTP client for the benchmark's own drivers (code issuance, the whole-flow driver):
// node:http only, no redirects followed. Where a browser is needed (alice's login, her GET /authorize with
// the login session), @quartet/common's UserAgent runs on it through `keepAliveTransport`, so its requests
// reuse the same connections.
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';

export const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One request; resolves with status, headers and the body as text. Rejects after `timeoutMs`. */
export function request(url, { method = 'GET', headers = {}, body, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${url}`)));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** A transport for @quartet/common's UserAgent on `request`: the agent's cookies and forms, this agent's sockets. */
export const keepAliveTransport = ({ method, url, headers, body, timeoutMs }) =>
  request(url, { method, headers, body, timeoutMs });

/** RFC 7636 S256: a fresh verifier and its challenge. */
export function pkcePair() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export const form = (fields) => new URLSearchParams(fields).toString();

export const basicAuth = (id, secret) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
