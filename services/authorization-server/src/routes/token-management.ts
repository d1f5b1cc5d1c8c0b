// POST /oauth/revoke (RFC 7009) and POST /oauth/introspect (RFC 7662): client-authenticated form endpoints.
// A client can only revoke or introspect its own tokens; anything else looks exactly like an unknown token
// (revoke: 200, introspect: {"active": false} and nothing else), so neither endpoint reveals whether a
// token exists or whose it is.
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OAuthError } from '@quartet/common';
import { FORM_BODY_LIMIT, acceptAnyBody, authenticate, readForm } from '../oauth/form-endpoint.js';
import type { ClientRecord } from '../plugins/repositories.js';
import type { AccessTokenClaims } from '../plugins/access-tokens.js';
import { single, type RawParams } from '../lib/params.js';
import * as steps from '../lib/workshop-steps.js';

/** RFC 7009 §2.1 / RFC 7662 §2.1: `token` is required. */
function requireToken(params: RawParams): string {
  const token = single(params, 'token');
  if (!token) throw new OAuthError('invalid_request', 'token is required.');
  return token;
}

/** An access token this server signed for this client and has not revoked, or null. */
async function ownAccessToken(
  app: FastifyInstance,
  token: string,
  client: ClientRecord,
): Promise<AccessTokenClaims | null> {
  const claims = await app.accessTokens.verify(token);
  if (!claims || claims.client_id !== client.id) return null;
  return claims;
}

/**
 * The token_type_hint only says where to look first (RFC 7009 §2.1, RFC 7662 §2.1): unknown hints are
 * ignored and both kinds are always tried. Access tokens are JWTs and refresh tokens are not, so the shape
 * decides the order, and looking up the wrong kind first costs nothing.
 */
const looksLikeJwt = (token: string) => token.split('.').length === 3;

const INACTIVE = { active: false } as const;

const routes: FastifyPluginAsyncTypebox = async (app) => {
  acceptAnyBody(app);
  const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };

  app.post('/oauth/revoke', { bodyLimit: FORM_BODY_LIMIT }, async (request, reply) => {
    const params = readForm(request.headers, request.body);
    const client = await authenticate(app, request.headers, params);
    request.trace.record(steps.clientAuthenticated(client, steps.clientAuthMethod(request.headers, params)));
    const token = requireToken(params);
    let revoked = false;
    if (looksLikeJwt(token)) {
      const claims = await ownAccessToken(app, token, client);
      if (claims) {
        await app.accessTokens.revoke(claims);
        request.trace.record(steps.accessTokenRevoked());
        revoked = true;
        request.log.info({ clientId: client.id }, 'access token revoked');
      }
    } else {
      // RFC 7009 §2.1: revoking a refresh token also ends the access tokens of the same grant.
      const info = await app.grants.describeRefreshToken(token);
      if (info && info.grant.clientId === client.id) {
        await app.grants.revoke(info.grant.id, 'revoked by the client (RFC 7009)');
        request.trace.record(steps.grantRevokedByClient(info.grant.id));
        revoked = true;
        request.log.info({ clientId: client.id, grantId: info.grant.id }, 'grant revoked through its refresh token');
      }
    }
    if (!revoked) request.trace.record(steps.nothingToRevoke());
    // RFC 7009 §2.2: 200 whether or not the token was valid, known, or the client's.
    return reply.headers(noStore).send();
  });

  app.post('/oauth/introspect', { bodyLimit: FORM_BODY_LIMIT }, async (request, reply) => {
    const params = readForm(request.headers, request.body);
    const client = await authenticate(app, request.headers, params);
    // RFC 7662 §2.1 asks for authentication; a public client proves nothing about who is asking.
    if (client.secretHash === null) {
      throw new OAuthError(
        'invalid_client',
        'Introspection needs client authentication; public clients cannot introspect.',
        { status: 401 },
      );
    }
    request.trace.record(steps.clientAuthenticated(client, steps.clientAuthMethod(request.headers, params)));
    const token = requireToken(params);
    reply.headers(noStore);
    const inactive = () => {
      request.trace.record(steps.introspected(false, looksLikeJwt(token) ? 'access token' : 'refresh token'));
      return INACTIVE;
    };

    if (looksLikeJwt(token)) {
      const claims = await ownAccessToken(app, token, client);
      if (!claims || (await app.accessTokens.isRevoked(claims))) return inactive();
      if (claims.grant_id) {
        const grant = await app.grants.findById(claims.grant_id);
        if (!grant || grant.revokedAt) return inactive();
      }
      const user = claims.sub !== client.id ? await app.users.findById(claims.sub!) : null;
      request.trace.record(steps.introspected(true, 'access token', claims.scope));
      return {
        active: true,
        scope: claims.scope,
        client_id: claims.client_id,
        ...(user ? { username: user.username } : {}),
        token_type: 'Bearer',
        exp: claims.exp,
        iat: claims.iat,
        sub: claims.sub,
        aud: claims.aud,
        iss: claims.iss,
        jti: claims.jti,
      };
    }

    const info = await app.grants.describeRefreshToken(token);
    if (!info || !info.active || info.grant.clientId !== client.id) return inactive();
    const user = await app.users.findById(info.grant.userId);
    request.trace.record(steps.introspected(true, 'refresh token', info.grant.scopes.join(' ')));
    return {
      active: true,
      scope: info.grant.scopes.join(' '),
      client_id: info.grant.clientId,
      ...(user ? { username: user.username } : {}),
      exp: Math.floor(info.expiresAt.getTime() / 1000),
      iat: Math.floor(info.createdAt.getTime() / 1000),
      sub: info.grant.userId,
      aud: info.grant.resource,
      iss: app.config.ISSUER,
    };
  });
};

export default routes;
