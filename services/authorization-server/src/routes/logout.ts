// Interaction route: signing out of the authorization server. Without it a login session outlives the
// client app's own logout for LOGIN_SESSION_TTL, and the next "Connect" on that browser needs no password.
//   GET  /interaction/logout[?client_id=…]  asks "Sign out?" (a page, so a link from anywhere cannot sign
//                                           anyone out: the form carries a CSRF token);
//   POST /interaction/logout                ends the session (server-side and cookie), then says so.
// It is advertised as `end_session_endpoint` (the metadata name of OpenID Connect RP-Initiated Logout 1.0 §2.1)
// so a client can offer it; of that protocol only `client_id` is read, to name the app and link back to it:
// the link goes to the origin of a redirect URI the client registered, never to a URL from the request, so
// it cannot be turned into an open redirect.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { renderErrorPage } from '../plugins/pages.js';
import { CONNECTED_APPS_PATH, LOGOUT_PATH } from '../plugins/authorization-flow.js';
import { unlessUnusableDocument } from '../oauth/client-metadata-document.js';

const Query = Type.Object({ client_id: Type.Optional(Type.String({ maxLength: 255 })) });
const Body = Type.Object({
  client_id: Type.Optional(Type.String({ maxLength: 255 })),
  _csrf: Type.Optional(Type.String()),
});

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.setErrorHandler((err, request, reply) => renderErrorPage(request, reply, err));

  /** The app to name and link back to, from its registration (nothing when unknown). */
  async function returnTo(
    clientId: string | undefined,
  ): Promise<{ clientId?: string; clientName?: string; backUrl?: string }> {
    // A client_id whose metadata document cannot be used names no app, like an unknown one.
    const client = clientId ? await app.clients.findById(clientId).catch(unlessUnusableDocument) : null;
    const [first] = client?.redirectUris ?? [];
    if (!client || !first) return {};
    return { clientId: client.id, clientName: client.name, backUrl: new URL(first).origin + '/' };
  }

  app.get(LOGOUT_PATH, { schema: { querystring: Query } }, async (request, reply) => {
    const session = await app.loginSessions.load(request);
    const back = await returnTo(request.query.client_id);
    if (!session) return reply.view('signed-out.njk', { ...back, alreadySignedOut: true });
    return reply.view('logout.njk', {
      csrfToken: reply.generateCsrf(),
      username: session.data.username,
      connectedAppsPath: CONNECTED_APPS_PATH,
      ...back,
    });
  });

  app.post(LOGOUT_PATH, { schema: { body: Body }, preHandler: app.csrfProtection }, async (request, reply) => {
    const session = await app.loginSessions.load(request);
    await app.loginSessions.destroy(request, reply);
    if (session) request.log.info({ userId: session.data.userId }, 'signed out');
    return reply.view('signed-out.njk', await returnTo(request.body.client_id));
  });
};

export default routes;
