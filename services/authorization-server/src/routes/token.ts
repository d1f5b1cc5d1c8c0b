// POST /oauth/token — the token endpoint (RFC 6749 §3.2, §5.1-§5.2) for the authorization_code,
// refresh_token and client_credentials grants (see oauth/token-grants.ts). Errors are RFC 6749 §5.2 JSON
// from jsonErrors; each refusal is also told to subscribers as `check.failed`.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  FORM_BODY_LIMIT,
  acceptAnyBody,
  authenticate,
  readForm,
  reportingFailures,
  type FailureContext,
} from '../oauth/form-endpoint.js';
import { requireGrantType, requireSupportedGrant } from '../oauth/token-checks.js';
import { GRANT_HANDLERS } from '../oauth/token-grants.js';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  acceptAnyBody(app);

  app.post('/oauth/token', { bodyLimit: FORM_BODY_LIMIT }, async (request, reply) => {
    const context: FailureContext = {};
    const body = await reportingFailures(app, request, '/oauth/token', context, async () => {
      const params = readForm(request.headers, request.body);
      const grantType = requireGrantType(params);
      const { client, method } = await authenticate(app, request.headers, params);
      context.clientId = client.id;
      app.events.emit('client.authenticated', { request, client, method });
      requireSupportedGrant(grantType, client);
      context.grantType = grantType;
      app.events.emit('token.requested', { request, client, grantType });
      return GRANT_HANDLERS[grantType]!(app, request, client, params);
    });
    // RFC 6749 §5.1: the response must not be cached.
    return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(body);
  });
};

export default routes;
