// POST /logout: destroys the server-side session (tokens included) and its cookie. CSRF-protected twice:
// the session cookie is SameSite=Lax (not sent on cross-site POSTs) and the form carries a per-session token.
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { PageError } from '../errors.js';

const LogoutBody = Type.Object({ _csrf: Type.String({ maxLength: 256 }) }, { additionalProperties: true });

export default async function logoutRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/logout', { schema: { body: LogoutBody } }, async (request, reply) => {
    const session = await app.sessions.load(request);
    if (!session) {
      // Nothing to end (expired or never existed): still drop any stale cookie.
      await app.sessions.destroy(request, reply);
      return reply.redirect('/', 303);
    }
    if (!app.sessions.checkCsrf(session, request.body._csrf)) {
      throw new PageError(403, 'Request refused', 'This form was not sent from this app’s own page, so it was ignored.', {
        action: { href: '/', label: 'Back to the start' },
      });
    }
    await app.sessions.destroy(request, reply);
    return reply.redirect('/', 303);
  });
}
