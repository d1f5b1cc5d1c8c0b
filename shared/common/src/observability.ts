// What every service registers first: request ids (request-id.ts), Prometheus metrics (metrics.ts), and the
// draining state of a graceful shutdown (run-service.ts):
// - while draining, GET /readyz answers 503 so load balancers and Kubernetes stop sending new requests,
//   while everything else is still served;
// - once draining, and while the app closes, responses carry `Connection: close`: a keep-alive connection
//   that was busy when the server stopped listening is closed after its response instead of idling until
//   its keep-alive timeout, which would hold the exit back.
// The services also pass serverOptions() to Fastify() (ids are generated before any plugin runs).
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import { RETRY_AFTER_SECONDS } from './errors.js';
import { metrics } from './metrics.js';
import { requestIdOptions, requestIds } from './request-id.js';
import { serverTimeoutOptions, type ServerSettings } from './server-settings.js';

/**
 * Fastify server options of every service: request ids (request-id.ts); trusted proxies and timeouts for slow
 * clients (server-settings.ts); and requests that reach an open connection while the app closes are served
 * (then the connection closes) instead of Fastify's default 503: the client sent them before it could know,
 * and the stores stay open until every connection is done. And one plugin timeout for all three: Fastify's
 * default gives a plugin 10 s to load, but opening the embedded database the first time (initdb in WebAssembly,
 * then AUTO_MIGRATE and SEED_DEMO_DATA) can take longer on a small machine, and a timeout would fail the start
 * while the store is still being opened, leaving it locked. Every backend call made during a start has its
 * own bound (PostgreSQL connect timeout, Redis command timeout), so two minutes is a last resort only.
 */
export const PLUGIN_TIMEOUT_MS = 120_000;

export function serverOptions(settings?: ServerSettings) {
  return {
    ...requestIdOptions(),
    ...serverTimeoutOptions(settings),
    return503OnClosing: false as const,
    pluginTimeout: PLUGIN_TIMEOUT_MS,
  } satisfies FastifyServerOptions;
}

export const READINESS_PATH = '/readyz';

export interface Draining {
  /** True from the start of a graceful shutdown. */
  readonly active: boolean;
  /** Marks the app as draining (readiness 503, connections closed after their response). */
  start(): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    draining: Draining;
  }
}

export interface ObservabilityOptions {
  /** Make each request's id current for its handlers, to send on to other services (RequestIdOptions). */
  propagateRequestIds?: boolean;
}

export const observability = fp(
  async (app: FastifyInstance, options: ObservabilityOptions) => {
    await app.register(requestIds, { propagate: options.propagateRequestIds ?? false });
    await app.register(metrics);

    let active = false;
    app.decorate('draining', {
      get active() {
        return active;
      },
      start() {
        active = true;
      },
    });
    // app.close() without runService (tests, embedding) drains too.
    app.addHook('preClose', (done) => {
      active = true;
      done();
    });

    app.addHook('onRequest', async (request, reply) => {
      if (active && request.routeOptions.url === READINESS_PATH) {
        return reply
          .code(503)
          .headers({ 'retry-after': String(RETRY_AFTER_SECONDS), 'cache-control': 'no-store' })
          .send({ status: 'draining' });
      }
      return undefined;
    });
    app.addHook('onSend', async (_request, reply, payload) => {
      if (active) reply.header('connection', 'close');
      return payload;
    });
  },
  { name: 'observability' },
);
