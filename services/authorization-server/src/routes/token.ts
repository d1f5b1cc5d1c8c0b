// POST /oauth/token — the token endpoint for the authorization code grant (RFC 6749 §3.2, §4.1.3-§4.1.4,
// §5.1-§5.2; RFC 7636 §4.5-§4.6; RFC 9068 access tokens). Errors are RFC 6749 §5.2 JSON from jsonErrors.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authenticateClient, readClientCredentials } from '../oauth/client-authentication.js';
import {
  rejectRepeatedParameters,
  requireCodeParameters,
  requireFormBody,
  requireGrantType,
  requireLiveCode,
  requirePkceMatch,
  requireSameClient,
  requireSameRedirectUri,
  requireSupportedGrant,
} from '../oauth/token-checks.js';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  // Accept any body here so that JSON, text or XML all get the same RFC 6749 invalid_request (400) from
  // requireFormBody rather than Fastify's generic 415: a client reading §5.2 errors understands it.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 16384 }, (_request, _body, done) => done(null, undefined));

  app.post('/oauth/token', { bodyLimit: 16384 }, async (request, reply) => {
    const params = requireFormBody(request.headers['content-type'], request.body);
    rejectRepeatedParameters(params);
    const grantType = requireGrantType(params);
    const client = await authenticateClient(app.clients, readClientCredentials(request.headers.authorization, params));
    requireSupportedGrant(grantType, client);
    const { code, codeVerifier, redirectUri } = requireCodeParameters(params);
    // The code is spent from here on: whatever fails next, it cannot be tried again (RFC 6749 §4.1.2).
    const data = requireLiveCode(await app.codes.consume(code));
    requireSameClient(data, client);
    requireSameRedirectUri(data, redirectUri);
    requirePkceMatch(data, codeVerifier);

    const token = await app.accessTokens.issue({ userId: data.userId, clientId: client.id, scopes: data.scopes });
    request.log.info({ clientId: client.id }, 'access token issued');
    // RFC 6749 §5.1: the response must not be cached.
    return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send({
      access_token: token.token,
      token_type: 'Bearer',
      expires_in: token.expiresIn,
      scope: token.scope,
    });
  });
};

export default routes;
