// POST /oauth/token — the token endpoint (RFC 6749 §3.2, §5.1-§5.2) for the authorization_code,
// refresh_token and client_credentials grants (see oauth/token-grants.ts). Errors are RFC 6749 §5.2 JSON
// from jsonErrors; each refusal is also told to subscribers as `check.failed`.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { acceptAnyBody, authenticatedClient, postForm } from '../oauth/form-endpoint.js';
import { requireGrantType, requireSupportedGrant } from '../oauth/token-checks.js';
import { GRANT_HANDLERS } from '../oauth/token-grants.js';
import { provideDpopNonces, readDpopBinding } from '../oauth/dpop-checks.js';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  acceptAnyBody(app);
  // RFC 9449 §8: with DPOP_NONCE_REQUIRED every answer carries a fresh DPoP-Nonce.
  provideDpopNonces(app);

  // RFC 6749 §5.1: postForm sends the response with no-store.
  postForm(app, '/oauth/token', async (request, params, context) => {
    const grantType = requireGrantType(params);
    const client = await authenticatedClient(app, request, params, '/oauth/token', context);
    requireSupportedGrant(grantType, client);
    context.grantType = grantType;
    app.events.emit('token.requested', { request, client, grantType });
    // RFC 9449 §5: checked before the grant, so a bad proof spends no code or refresh token.
    const jkt = await readDpopBinding(app, request, client);
    return GRANT_HANDLERS[grantType]!(app, request, client, params, jkt);
  });
};

export default routes;
