// Liveness and readiness probes (used by the start script, the e2e test and Kubernetes).
import type { FastifyInstance } from 'fastify';
import { RETRY_AFTER_SECONDS } from '@quartet/common';

export default async function healthRoutes(app: FastifyInstance) {
  app.get('/livez', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  // Ready when the session store answers: without it no page that needs a session can work.
  app.get('/readyz', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    try {
      await app.kv.ping();
      return reply.send({ status: 'ok' });
    } catch {
      request.log.warn('readiness check failed: session store unavailable');
      return reply
        .code(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ status: 'unavailable', store: 'session store' });
    }
  });
}
