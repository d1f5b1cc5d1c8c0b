// A tiny HTTP load balancer for tests: round-robin over replicas, and on a refused or reset connection the
// next replica is tried, as a real load balancer with passive health checks would. Hand-written (a few lines
// of node:http) because the test needs exactly this failover and nothing a proxy library would add.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Balancer {
  url: string;
  close(): Promise<void>;
}

export async function startBalancer(targets: string[]): Promise<Balancer> {
  let next = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      // Each request tries every replica once, starting at its round-robin turn (not at a shared counter that
      // concurrent requests move meanwhile, which could send the retry back to the dead replica).
      const first = next++;
      const attempt = (tries: number) => {
        const target = new URL(targets[(first + tries) % targets.length]!);
        const upstream = http.request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', () => {
          if (tries + 1 < targets.length && !res.headersSent) attempt(tries + 1);
          else if (!res.headersSent) res.writeHead(502).end('no replica answered');
          else res.destroy();
        });
        upstream.end(body);
      };
      attempt(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
