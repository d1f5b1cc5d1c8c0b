// POST /oauth/token — the token endpoint (RFC 6749 §3.2, §5.1-§5.2) for the authorization_code,
// refresh_token and client_credentials grants (see oauth/token-grants.ts). Errors are RFC 6749 §5.2 JSON
// from jsonErrors.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { FORM_BODY_LIMIT, acceptAnyBody, authenticate, readForm } from '../oauth/form-endpoint.js';
import { requireGrantType, requireSupportedGrant } from '../oauth/token-checks.js';
import { GRANT_HANDLERS } from '../oauth/token-grants.js';
import * as steps from '../lib/workshop-steps.js';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  acceptAnyBody(app);

  app.post('/oauth/token', { bodyLimit: FORM_BODY_LIMIT }, async (request, reply) => {
    const params = readForm(request.headers, request.body);
    const grantType = requireGrantType(params);
    const client = await authenticate(app, request.headers, params);
    request.trace.record(steps.clientAuthenticated(client, steps.clientAuthMethod(request.headers, params)));
    requireSupportedGrant(grantType, client);
    request.trace.record(steps.grantType(grantType));
    const body = await GRANT_HANDLERS[grantType]!(app, client, params, request.log, request.trace);
    app.oauthMetrics.tokensIssued.inc({ grant_type: grantType });
    // RFC 6749 §5.1: the response must not be cached.
    return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(body);
  });
};

export default routes;
