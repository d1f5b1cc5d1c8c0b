// POST /oauth/revoke (RFC 7009) and POST /oauth/introspect (RFC 7662): client-authenticated form endpoints.
// A client can only revoke or introspect its own tokens; anything else looks exactly like an unknown token
// (revoke: 200, introspect: {"active": false} and nothing else), so neither endpoint reveals whether a
// token exists or whose it is.
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OAuthError } from '@quartet/common';
import { acceptAnyBody, authenticatedClient, postForm } from '../oauth/form-endpoint.js';
import { isPublicClient, type ClientRecord } from '../domain/records.js';
import type { AccessTokenClaims } from '../plugins/access-tokens.js';
import { single, type RawParams } from '../lib/params.js';

/** RFC 7009 §2.1 / RFC 7662 §2.1: `token` is required. */
function requireToken(params: RawParams): string {
  const token = single(params, 'token');
  if (!token) throw new OAuthError('invalid_request', 'token is required.', { reason: 'token-missing' });
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

  // RFC 7009 §2.2: 200 whether or not the token was valid, known, or the client's (postForm answers no-store).
  postForm(app, '/oauth/revoke', async (request, params, context) => {
    const client = await authenticatedClient(app, request, params, '/oauth/revoke', context);
    const token = requireToken(params);
    if (looksLikeJwt(token)) {
      const claims = await ownAccessToken(app, token, client);
      if (claims) {
        await app.accessTokens.revoke(claims);
        app.events.emit('token.revoked', { request, client });
        request.log.info({ clientId: client.id }, 'access token revoked');
        return;
      }
    } else {
      // RFC 7009 §2.1: revoking a refresh token also ends the access tokens of the same grant.
      const info = await app.refreshTokens.describe(token);
      if (info && info.grant.clientId === client.id) {
        await app.grants.revoke(info.grant.id, 'revoked by the client (RFC 7009)');
        app.events.emit('grant.revoked', {
          request,
          clientId: client.id,
          grantId: info.grant.id,
          cause: 'revocation',
        });
        request.log.info({ clientId: client.id, grantId: info.grant.id }, 'grant revoked through its refresh token');
        return;
      }
    }
    app.events.emit('revocation.unmatched', { request, client });
  });

  postForm(app, '/oauth/introspect', async (request, params, context) => {
    const client = await authenticatedClient(app, request, params, '/oauth/introspect', context);
    // RFC 7662 §2.1 asks for authentication; a public client proves nothing about who is asking.
    if (isPublicClient(client)) {
      throw new OAuthError(
        'invalid_client',
        'Introspection needs client authentication; public clients cannot introspect.',
        { status: 401, reason: 'public-client-introspection' },
      );
    }
    const token = requireToken(params);
    const kind = looksLikeJwt(token) ? 'access token' : 'refresh token';
    const inactive = () => {
      app.events.emit('token.introspected', { request, client, active: false, kind });
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
      app.events.emit('token.introspected', { request, client, active: true, kind, scope: claims.scope });
      return {
        active: true,
        scope: claims.scope,
        client_id: claims.client_id,
        ...(user ? { username: user.username } : {}),
        // RFC 9449 §6.2: a bound token is introspected as DPoP with its cnf, so a resource server checks the proof.
        token_type: claims.cnf ? 'DPoP' : 'Bearer',
        ...(claims.cnf ? { cnf: claims.cnf } : {}),
        exp: claims.exp,
        iat: claims.iat,
        sub: claims.sub,
        aud: claims.aud,
        iss: claims.iss,
        jti: claims.jti,
      };
    }

    const info = await app.refreshTokens.describe(token);
    if (!info || !info.active || info.grant.clientId !== client.id) return inactive();
    const user = await app.users.findById(info.grant.userId);
    const scope = info.grant.scopes.join(' ');
    app.events.emit('token.introspected', { request, client, active: true, kind, scope });
    return {
      active: true,
      scope,
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
