// Interaction route: the user's "connected apps" page. It lists every client the logged-in user approved,
// with the resources and scopes in plain words and when, and lets them withdraw it: the consent is deleted
// (the next authorization asks again) and every grant of that client for this user is revoked, which stops
// its refresh tokens at once and its access tokens within ACCESS_TOKEN_TTL (resource servers verify them
// locally). The "access removed" notice is kept server-side for the page that follows the POST (never taken
// from the URL, where anyone could put any text on this page) and shown once.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { renderErrorPage } from '../plugins/pages.js';
import { CONNECTED_APPS_PATH, LOGIN_PATH, LOGOUT_PATH } from '../plugins/authorization-flow.js';
import { describeScope } from '../lib/scopes.js';
import { hashToken } from '../lib/token-hash.js';

const NOTICE_TTL_SECONDS = 60;
const noticeKey = (sessionId: string) => `notice:${hashToken(sessionId)}`;

const Body = Type.Object({
  client_id: Type.String({ minLength: 1, maxLength: 200 }),
  _csrf: Type.Optional(Type.String()),
});

const formatDate = (date: Date) => date.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.setErrorHandler((err, request, reply) => renderErrorPage(request, reply, err));

  app.get(CONNECTED_APPS_PATH, async (request, reply) => {
    const session = await app.loginSessions.load(request);
    if (!session) return reply.redirect(LOGIN_PATH, 303);
    const [apps, revoked] = await Promise.all([
      app.consents.connectedApps(session.data.userId),
      app.kv.take(noticeKey(session.id)),
    ]);
    return reply.view('connected-apps.njk', {
      csrfToken: reply.generateCsrf(),
      username: session.data.username,
      revoked,
      logoutPath: LOGOUT_PATH,
      accessTokenMinutes: Math.ceil(app.config.ACCESS_TOKEN_TTL / 60),
      apps: apps.map((a) => ({
        clientId: a.clientId,
        clientName: a.clientName,
        resources: a.resources.map((r) => ({
          // A consent recorded before consents named their resource covers none (the user is asked again).
          resource: r.resource || 'not recorded (you will be asked again)',
          scopes: r.scopes.map((scope) => ({ scope, description: describeScope(scope) })),
        })),
        grantedAt: formatDate(a.grantedAt),
        updatedAt: formatDate(a.updatedAt),
      })),
    });
  });

  app.post(
    `${CONNECTED_APPS_PATH}/revoke`,
    { schema: { body: Body }, preHandler: app.csrfProtection },
    async (request, reply) => {
      const session = await app.loginSessions.load(request);
      if (!session) return reply.redirect(LOGIN_PATH, 303);
      const clientId = request.body.client_id;
      const { userId } = session.data;
      // The grants first, so what the client holds stops working; then the consent, so the next authorization
      // asks again. In this order an outage between the two leaves the app listed here (this page lists
      // consents) with nothing working, and withdrawing again finishes the job; the other order could hide a
      // client that still holds live grants. Both steps are idempotent.
      const grantsRevoked = await app.grants.revokeAll(userId, clientId, 'consent withdrawn by the user');
      const consent = await app.consents.withdraw(userId, clientId);
      app.events.emit('consent.withdrawn', { userId, clientId, grantsRevoked });
      request.log.info({ clientId, grantsRevoked }, 'consent withdrawn by the user');
      const client = await app.clients.findById(clientId);
      if (consent.removed || grantsRevoked > 0)
        await app.kv.set(noticeKey(session.id), client?.name ?? clientId, NOTICE_TTL_SECONDS);
      return reply.redirect(CONNECTED_APPS_PATH, 303);
    },
  );
};

export default routes;
