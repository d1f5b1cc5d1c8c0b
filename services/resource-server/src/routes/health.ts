// Probes: /livez says the process serves HTTP; /readyz says it can do its job (PostgreSQL answers). The
// authorization server is deliberately not part of readiness: keys are fetched lazily and cached, and an AS
// outage is answered per request with 503, so taking the RS out of rotation would only make things worse.
import type { FastifyInstance } from 'fastify';
import { RETRY_AFTER_SECONDS } from '@quartet/common';

export default async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get('/livez', async () => ({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    try {
      await app.pingDatabase();
      return { status: 'ok' };
    } catch (err) {
      request.log.warn({ err }, 'not ready: postgresql unavailable');
      return reply
        .code(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ status: 'unavailable', postgresql: 'unreachable' });
    }
  });
}
