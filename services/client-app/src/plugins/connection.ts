// Access to the user's connection (the access token in the server-side session) for the resource pages.
// Pages that show user data redirect to / when the browser is not connected, and treat a token that is
// past its expiry like one the resource server rejected (RFC 6750 §3.1 invalid_token): connect again.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { TokenRejectedError } from './resource-api.js';
import type { ConnectedSession } from './session.js';

export interface Connection {
  session: ConnectedSession;
  accessToken: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `requireConnection` preHandler. */
    connection: Connection | null;
  }
  interface FastifyInstance {
    /** preHandler: 303 to / when not connected; otherwise sets request.connection. */
    requireConnection(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}

/** The access token, unless it is known to be expired (then the user is asked to connect again). */
export function accessToken(request: FastifyRequest): string {
  const connection = request.connection;
  if (!connection) throw new TokenRejectedError('not connected');
  return connection.accessToken;
}

async function connectionPlugin(app: FastifyInstance) {
  app.decorateRequest('connection', null);
  app.decorate('requireConnection', async (request: FastifyRequest, reply: FastifyReply) => {
    const session = await app.sessions.connected(request);
    if (!session) {
      // Awaiting the reply waits until it is sent, so Fastify skips the route handler.
      await reply.header('cache-control', 'no-store').redirect('/', 303);
      return;
    }
    const { expiresAt } = session.data.tokens;
    if (expiresAt !== null && Date.now() / 1000 >= expiresAt) throw new TokenRejectedError('expired');
    request.connection = { session, accessToken: session.data.tokens.accessToken };
  });
}

export default fp(connectionPlugin, { name: 'connection', dependencies: ['session'] });
