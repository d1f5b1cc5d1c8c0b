// The home page: explains the four roles of OAuth 2.0 (RFC 6749 §1.1) and starts the flow.
import type { FastifyInstance } from 'fastify';
import { isStorageOutage } from '@quartet/common';

export default async function homeRoutes(app: FastifyInstance) {
  const scopes = app.config.SCOPES.split(' ');
  app.get('/', async (request, reply) => {
    let connected = false;
    let csrfToken: string | undefined;
    try {
      const session = await app.sessions.load(request);
      connected = Boolean(session?.data.tokens);
      if (connected) csrfToken = reply.generateCsrf();
    } catch (err) {
      // The explanation is worth showing even while Redis is down; only the "connected" badge is unknown.
      if (!isStorageOutage(err)) throw err;
      request.log.warn('session store unavailable while rendering the home page');
    }
    return reply.view('home.njk', { connected, csrfToken, scopes });
  });
}
