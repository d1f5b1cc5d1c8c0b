// A small keep-alive HTTP client for the benchmark's own drivers (code issuance, the whole-flow driver):
// node:http only, no redirects followed, a cookie jar keyed by name (Quartet's cookie names are distinct).
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

export class CookieJar {
  jar = new Map();
  header() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  store(headers) {
    for (const c of [headers['set-cookie'] ?? []].flat()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }
}

/** RFC 7636 S256: a fresh verifier and its challenge. */
export function pkcePair() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export const form = (fields) => new URLSearchParams(fields).toString();

export const basicAuth = (id, secret) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** The `name` hidden input of an HTML page. */
export function hiddenField(html, name) {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no hidden field ${name} in page`);
  return m[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"');
}
