// Interaction route: the consent page (RFC 6749 §4.1.1 "obtains an authorization decision"). It names the
// client, lists each requested scope in plain words, names the resource the tokens will be for (RFC 8707)
// and the host the browser will be sent back to (RFC 9700 §4.1: the user can see where the code goes), and
// records approval; denial goes back to the client as access_denied (RFC 6749 §4.1.2.1). It never issues
// tokens, only hands over to the authorization flow.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { expiredRequest, renderErrorPage } from '../plugins/pages.js';
import { CONSENT_PATH, LOGIN_PATH, LOGOUT_PATH } from '../plugins/authorization-flow.js';
import { describeScope } from '../lib/scopes.js';

const Query = Type.Object({ request: Type.String({ maxLength: 100 }) });
const Body = Type.Object({
  request: Type.String({ maxLength: 100 }),
  decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]),
  _csrf: Type.Optional(Type.String()),
});

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.setErrorHandler((err, request, reply) => renderErrorPage(request, reply, err));
  const loginUrl = (requestId: string) => `${LOGIN_PATH}?request=${encodeURIComponent(requestId)}`;

  app.get(CONSENT_PATH, { schema: { querystring: Query } }, async (request, reply) => {
    const requestId = request.query.request;
    const authRequest = await app.authorizationRequests.get(requestId);
    if (!authRequest) throw expiredRequest();
    const session = await app.loginSessions.load(request);
    if (!session) return reply.redirect(loginUrl(requestId), 303);
    const client = await app.clients.findById(authRequest.clientId);
    app.events.emit('consent.shown', {
      requestId,
      username: session.data.username,
      clientId: authRequest.clientId,
      scopes: authRequest.scopes,
    });
    return reply.view('consent.njk', {
      csrfToken: reply.generateCsrf(),
      requestId,
      username: session.data.username,
      clientName: client?.name ?? authRequest.clientId,
      scopes: authRequest.scopes.map((scope) => ({ scope, description: describeScope(scope) })),
      resource: authRequest.resource,
      redirectHost: new URL(authRequest.redirectUri).host,
      publicClient: authRequest.publicClient,
      // Only clients the operator registered are vouched for; any other (self-registered, RFC 7591, or known
      // by its metadata document) chose its own name, so the page says so next to where the browser goes.
      notVerified: client?.registration !== 'operator',
      logoutPath: LOGOUT_PATH,
    });
  });

  app.post(CONSENT_PATH, { schema: { body: Body }, preHandler: app.csrfProtection }, async (request, reply) => {
    const { request: requestId, decision } = request.body;
    const session = await app.loginSessions.load(request);
    if (!session) return reply.redirect(loginUrl(requestId), 303);
    if (decision === 'deny') {
      request.log.info('consent denied');
      return reply.redirect(await app.authorizationFlow.deny(requestId), 303);
    }
    const url = await app.authorizationFlow.approve(requestId, session.data.userId);
    request.log.info('consent granted');
    return reply.redirect(url, 303);
  });
};

export default routes;
