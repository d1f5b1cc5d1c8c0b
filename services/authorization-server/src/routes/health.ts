// Liveness (the process answers) and readiness (PostgreSQL and Redis answer; else 503 with Retry-After).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { RETRY_AFTER_SECONDS } from '@quartet/common';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/livez', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const [postgresql, redis] = await Promise.all(
      [app.pingDatabase(), app.kv.ping()].map((p) =>
        p.then(
          () => 'ok' as const,
          () => 'unavailable' as const,
        ),
      ),
    );
    const ready = postgresql === 'ok' && redis === 'ok';
    if (!ready) reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS));
    return { status: ready ? 'ok' : 'unavailable', checks: { postgresql, redis } };
  });
};

export default routes;
