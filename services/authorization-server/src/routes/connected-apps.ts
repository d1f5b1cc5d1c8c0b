// Interaction route: the user's "connected apps" page. It lists every client the logged-in user approved,
// with the scopes in plain words and when, and lets them withdraw it: the consent is deleted (the next
// authorization asks again) and every grant of that client for this user is revoked, which stops its refresh
// tokens at once and its access tokens within ACCESS_TOKEN_TTL (resource servers verify them locally).
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { renderErrorPage } from '../plugins/pages.js';
import { CONNECTED_APPS_PATH, LOGIN_PATH } from '../plugins/authorization-flow.js';
import { describeScope } from '../lib/scopes.js';

const Query = Type.Object({ revoked: Type.Optional(Type.String({ maxLength: 200 })) });
const Body = Type.Object({
  client_id: Type.String({ minLength: 1, maxLength: 200 }),
  _csrf: Type.Optional(Type.String()),
});

const formatDate = (date: Date) => date.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.setErrorHandler((err, request, reply) => renderErrorPage(request, reply, err));

  app.get(CONNECTED_APPS_PATH, { schema: { querystring: Query } }, async (request, reply) => {
    const session = await app.loginSessions.load(request);
    if (!session) return reply.redirect(LOGIN_PATH, 303);
    const apps = await app.grants.connectedApps(session.data.userId);
    return reply.view('connected-apps.njk', {
      csrfToken: reply.generateCsrf(),
      username: session.data.username,
      revoked: request.query.revoked,
      accessTokenMinutes: Math.ceil(app.config.ACCESS_TOKEN_TTL / 60),
      apps: apps.map((a) => ({
        clientId: a.clientId,
        clientName: a.clientName,
        scopes: a.scopes.map((scope) => ({ scope, description: describeScope(scope) })),
        grantedAt: formatDate(a.grantedAt),
        updatedAt: formatDate(a.updatedAt),
      })),
    });
  });

  app.post(`${CONNECTED_APPS_PATH}/revoke`, { schema: { body: Body }, preHandler: app.csrfProtection }, async (request, reply) => {
    const session = await app.loginSessions.load(request);
    if (!session) return reply.redirect(LOGIN_PATH, 303);
    const clientId = request.body.client_id;
    const result = await app.grants.revokeConsent(session.data.userId, clientId);
    request.log.info({ clientId, grantsRevoked: result.grantsRevoked }, 'consent withdrawn by the user');
    const client = await app.clients.findById(clientId);
    return reply.redirect(`${CONNECTED_APPS_PATH}?revoked=${encodeURIComponent(client?.name ?? clientId)}`, 303);
  });
};

export default routes;
