// Prometheus metrics in the text exposition format at GET /metrics: requests and their latency by method,
// route pattern and status (4xx/5xx error rates are these series filtered by status_code), the process
// metrics prom-client collects by default, and the counters each service adds through app.metrics.counter.
//
// prom-client directly, with this small plugin, rather than fastify-metrics: fastify-metrics 14 has moved
// to other client packages (@platformatic/prom-client, @prometheus-io/client) while prom-client is the
// one everybody scrapes with; and a plugin of our own gives every app its own registry (the tests build many
// apps in one process, which a global registry would reject as duplicate metrics) and labels routes with
// the route pattern only.
//
// Labels never carry the raw URL: `route` is the registered pattern (`/photos/:id`), "unmatched" for a 404,
// so no id, code or token can end up in a label, and an attacker cannot create series by inventing URLs.
// GET /metrics itself is not counted, not logged at info, and not behind any authentication: keep it off
// the public ingress (Prometheus scrapes the pods directly).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const METRICS_PATH = '/metrics';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

// Seconds; the login POST (scrypt) and token requests sit in the 50-500 ms range.
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface CounterSpec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  /** Label values to create at zero, so rate() and alerts see the series before the first event. */
  initial?: Array<Partial<Record<L, string>>>;
}

export interface Metrics {
  registry: Registry;
  counter<L extends string = never>(spec: CounterSpec<L>): Counter<L>;
  /** The exposition text: this app's metrics and the process metrics. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

// Process metrics (CPU, memory, event loop lag, GC, handles) describe the process, not an app: collected once
// per process (collectDefaultMetrics starts observers that are never stopped) and merged into every scrape.
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export const metrics = fp(
  async (app: FastifyInstance) => {
    const registry = new Registry();
    const labelNames = ['method', 'route', 'status_code'] as const;
    const requests = new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code.',
      labelNames,
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time to answer HTTP requests, by method, route pattern and status code.',
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    const processRegistryNow = processMetrics();

    app.decorate('metrics', {
      registry,
      counter<L extends string = never>(spec: CounterSpec<L>): Counter<L> {
        const counter = new Counter<L>({
          name: spec.name,
          help: spec.help,
          labelNames: spec.labelNames ?? [],
          registers: [registry],
        });
        for (const labels of spec.initial ?? []) counter.inc(labels, 0);
        if (!spec.labelNames?.length) counter.inc(0);
        return counter;
      },
      async scrape() {
        const merged = Registry.merge([processRegistryNow, registry]);
        return { contentType: merged.contentType, body: await merged.metrics() };
      },
    });

    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url;
      if (route === METRICS_PATH) return;
      const labels = {
        method: METHODS.has(request.method) ? request.method : 'OTHER',
        route: route ?? 'unmatched',
        status_code: String(reply.statusCode),
      };
      requests.inc(labels);
      duration.observe(labels, reply.elapsedTime / 1000);
    });

    // Scraped every few seconds: only warnings and errors are logged for it.
    app.get(METRICS_PATH, { logLevel: 'warn' }, async (_request, reply) => {
      const { contentType, body } = await app.metrics.scrape();
      return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
    });
  },
  { name: 'metrics' },
);
