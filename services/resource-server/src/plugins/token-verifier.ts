// Bearer token authentication for the API (RFC 6750) with RFC 9068 JWT access tokens.
//
// - RFC 6750 §2.1: the token comes in `Authorization: Bearer <b64token>` only. The query parameter method
//   (§2.3) is refused — RFC 9700 §2.3 / OAuth 2.1 forbid it because URLs end up in logs and Referer headers —
//   and so is presenting the token by more than one method (§2). Both are `invalid_request` (400).
// - RFC 6750 §3 / §3.1: every failure carries `WWW-Authenticate: Bearer realm="...", error=...`; a request with
//   no credentials at all (or another scheme, e.g. Basic) gets a bare challenge with no error code.
// - RFC 6750 §3.1 insufficient_scope: 403 naming the scope the resource needs.
// - RFC 9728 §5.1: every Bearer challenge also carries `resource_metadata`, the URL of our protected resource
//   metadata, so a client that meets a 401 can discover which authorization server to ask and for what.
// - Every route behind requireScope serves one person's own data (the token's `sub`). A token the client got
//   for itself with the client_credentials grant (RFC 6749 §4.4) has no person behind it: RFC 9068 §2.2 makes
//   its `sub` the client's own id, so `sub === client_id` identifies it (the authorization server guarantees
//   that client ids are never UUIDs, the shape of user ids). Such a token is refused with 403
//   insufficient_scope whatever scopes it carries, before the scope check, since no scope would help.
// - Keys unreachable: 503 + Retry-After, never 401 (see AccessTokenVerifier).
// - Every step and refusal is an event on app.events (plugins/events.ts): metrics and workshop tracing
//   subscribe in their own plugins (token-metrics.ts, workshop.ts).
//
// Authentication runs as an onRequest hook, i.e. before the body is parsed and validated: a caller without a
// valid token learns nothing about our input rules and cannot make us parse large bodies.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { OAuthError, RETRY_AFTER_SECONDS } from '@quartet/common';
import { verifierOptions } from '../config.js';
import {
  AccessTokenVerifier,
  InvalidTokenError,
  KeySourceUnavailableError,
  type AccessToken,
  type AccessTokenVerifierOptions,
} from '../lib/access-token-verifier.js';
import { observeKeyFetches, watchKeyFetches, type KeyFetch } from '../lib/key-fetch-observer.js';
import { resourceMetadataUrl } from '../lib/resource-metadata.js';

export const REALM = 'quartet-resource-server';

export type ScopeHook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

declare module 'fastify' {
  interface FastifyInstance {
    tokenVerifier: AccessTokenVerifier;
    /** RFC 9728 §3.1 URL of our metadata, named in every Bearer challenge (RFC 9728 §5.1). */
    resourceMetadataUrl: string;
    /**
     * An onRequest/preHandler hook that authenticates the Bearer token, requires `scope` and requires the
     * token to act for a person (not a client_credentials token): for routes that serve the token's user.
     */
    requireScope(scope: string): ScopeHook;
  }
  interface FastifyRequest {
    /** The verified access token; set by requireScope, null on routes that do not require one. */
    accessToken: AccessToken | null;
  }
}

export interface TokenVerifierPluginOptions {
  /**
   * A ready verifier, or overrides of the options app.config gives (cache durations, a custom fetch). Tests
   * mostly point AUTHORIZATION_SERVER at a real local HTTP server instead and only shorten the cooldown.
   */
  verifier?: Partial<AccessTokenVerifierOptions> | AccessTokenVerifier;
}

/** error_description of the 403 for a client_credentials token (must fit RFC 6750 §3: no quotes, no backslash). */
export const CLIENT_TOKEN_DESCRIPTION =
  "This API serves a person's own photos and documents; a token issued to a client for itself (client_credentials) has no person behind it.";

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme name is case-insensitive (RFC 9110 §11.1).
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const BEARER_SCHEME = /^Bearer(?: |$)/i;

/** Quotes a WWW-Authenticate parameter value, dropping characters RFC 6750 §3 does not allow in it. */
function quote(value: string): string {
  return `"${value.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '')}"`;
}

export interface ChallengeParams {
  error?: string;
  error_description?: string;
  scope?: string;
  resource_metadata?: string;
}

/** `Bearer realm="…"[, error=…, error_description=…, scope=…], resource_metadata="…"` (RFC 6750 §3, RFC 9728 §5.1). */
export function bearerChallenge(params: ChallengeParams = {}): string {
  const parts = [`realm=${quote(REALM)}`];
  for (const [name, value] of Object.entries(params)) if (value !== undefined) parts.push(`${name}=${quote(value)}`);
  return `Bearer ${parts.join(', ')}`;
}

/** The challenge for `request`: `params` plus the resource_metadata URL of the app serving it. */
function challengeFor(request: FastifyRequest, params: ChallengeParams = {}): string {
  // Decorated on the root by the plugin below (fastify-plugin), so every route's instance sees it.
  return bearerChallenge({ ...params, resource_metadata: request.server.resourceMetadataUrl });
}

function bearerError(
  request: FastifyRequest,
  error: 'invalid_request' | 'invalid_token' | 'insufficient_scope',
  description: string,
  extra: { scope?: string } = {},
): OAuthError {
  return new OAuthError(error, description, {
    headers: { 'www-authenticate': challengeFor(request, { error, error_description: description, ...extra }) },
  });
}

/**
 * The token the request presents, or null when it presents none. Throws invalid_request when it is
 * malformed or presented in a way we do not accept.
 */
export function extractBearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  const query = request.query as Record<string, unknown> | undefined;
  const inQuery = query !== undefined && query !== null && Object.hasOwn(query, 'access_token');
  const isBearer = header !== undefined && BEARER_SCHEME.test(header);
  if (inQuery && isBearer) {
    throw bearerError(request, 'invalid_request', 'The access token must be sent by exactly one method.');
  }
  if (inQuery) {
    throw bearerError(
      request,
      'invalid_request',
      'Access tokens in the query string are not accepted; use the Authorization header.',
    );
  }
  // Another scheme (e.g. Basic) is "an unsupported authentication method": RFC 6750 §3.1 says no error code.
  if (!isBearer) return null;
  const match = BEARER.exec(header);
  if (!match?.[1]) {
    // No quotes around Bearer: error_description allows none (RFC 6750 §3), in the header or the body.
    throw bearerError(
      request,
      'invalid_request',
      'The Authorization header must be Bearer followed by one access token.',
    );
  }
  return match[1];
}

async function tokenVerifier(app: FastifyInstance, options: TokenVerifierPluginOptions): Promise<void> {
  const { config, events } = app;
  const verifier =
    options.verifier instanceof AccessTokenVerifier
      ? options.verifier
      : new AccessTokenVerifier({
          ...verifierOptions(config),
          // Outages of the key source and their end, once each (never a token: the verifier logs URLs and errors).
          log: app.log,
          ...options.verifier,
          // Lets a keys.fetched listener learn which verification made which metadata/JWKS request; outside a
          // watched verification it only forwards the call.
          fetch: observeKeyFetches(options.verifier?.fetch),
        });
  app.decorate('tokenVerifier', verifier);
  app.decorate('resourceMetadataUrl', resourceMetadataUrl(config.RESOURCE_ID));
  app.decorateRequest('accessToken', null);

  app.decorate('requireScope', (scope: string): ScopeHook => {
    return async function requireScopeHook(request, reply) {
      let token: string | null;
      try {
        token = extractBearerToken(request);
      } catch (err) {
        events.emit('check.failed', { request, reason: 'malformed_request' });
        throw err;
      }
      if (token === null) {
        events.emit('check.failed', { request, reason: 'missing' });
        // RFC 6750 §3.1: no error code in the challenge. The body still says what to do; "unauthorized" is
        // deliberately not an RFC 6750 code, so a client keying on error codes cannot mistake it for one.
        return reply
          .code(401)
          .headers({ 'www-authenticate': challengeFor(request), 'cache-control': 'no-store' })
          .send({ error: 'unauthorized', error_description: 'This resource requires a Bearer access token.' });
      }
      events.emit('token.presented', { request });
      let accessToken: AccessToken;
      // Which metadata/JWKS requests this verification caused, when a listener wants to know.
      const fetches: KeyFetch[] = [];
      const fetched = () => {
        if (fetches.length > 0)
          events.emit('keys.fetched', { request, token, fetches, metadataUrl: verifier.metadataUrl });
      };
      try {
        accessToken = await (events.has('keys.fetched')
          ? watchKeyFetches(fetches, () => verifier.verify(token))
          : verifier.verify(token));
      } catch (err) {
        fetched();
        if (err instanceof InvalidTokenError) {
          events.emit('check.failed', { request, reason: err.reason });
          throw bearerError(request, 'invalid_token', err.description);
        }
        if (err instanceof KeySourceUnavailableError) {
          events.emit('keys.unavailable', { request, error: err });
          request.log.warn({ err }, 'cannot verify access token: authorization server keys unavailable');
          throw new OAuthError(
            'temporarily_unavailable',
            'The authorization server keys cannot be fetched right now; try again shortly.',
            {
              status: 503,
              headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
            },
          );
        }
        throw err;
      }
      fetched();
      events.emit('token.verified', { request, token, accessToken, fetches, metadataUrl: verifier.metadataUrl });
      // RFC 9068 §2.2: a client_credentials token's sub is its client_id. No `scope` in this challenge: asking
      // for more scopes cannot make such a token act for a person.
      if (accessToken.sub === accessToken.clientId) {
        events.emit('check.failed', { request, reason: 'client_token', accessToken });
        throw bearerError(request, 'insufficient_scope', CLIENT_TOKEN_DESCRIPTION);
      }
      if (!accessToken.scopes.includes(scope)) {
        events.emit('scope.insufficient', { request, scope, accessToken });
        throw bearerError(request, 'insufficient_scope', `This request requires the ${scope} scope.`, { scope });
      }
      events.emit('token.accepted', { request, scope, accessToken });
      request.accessToken = accessToken;
      return undefined;
    };
  });
}

export default fp(tokenVerifier, {
  name: 'token-verifier',
  dependencies: ['config', 'events', 'json-errors'],
});

/** The verified token of a request that passed requireScope (routes call this instead of reading the decorator). */
export function ownerOf(request: FastifyRequest): string {
  if (!request.accessToken) {
    // Only reachable if a route forgot its requireScope hook: fail closed.
    throw bearerError(request, 'invalid_token', 'No verified access token.');
  }
  return request.accessToken.sub;
}
