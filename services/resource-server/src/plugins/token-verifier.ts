// Access token authentication for the API: Bearer tokens (RFC 6750) and DPoP-bound tokens (RFC 9449 §7),
// both RFC 9068 JWT access tokens.
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
// - RFC 9449 §7.1: `Authorization: DPoP <token>` plus a `DPoP` proof header. The token is verified as above,
//   must be bound to a key (cnf.jkt, §6.1), and the proof is checked per §4.3 and §7.1 by the shared module
//   (@quartet/common verifyDpopProof): signed by the bound key (expectedJkt), htm the request method, htu our
//   external URL for the request (RESOURCE_ID plus the path: the RS is reached at its resource identifier,
//   never at whatever Host a request names), compared without query and fragment, `ath` the hash of this
//   token, iat within DPOP_PROOF_LIFETIME, jti never seen before (plugins/dpop-replay.ts). A proof failure is
//   401 invalid_dpop_proof; a token failure under the DPoP scheme is 401 invalid_token in a DPoP challenge.
// - RFC 9449 §7.2 / §6.1: a DPoP-bound token presented as a Bearer token is refused (it would let whoever
//   stole it skip the proof), and so is an unbound token presented with the DPoP scheme. With DPOP_REQUIRED
//   only DPoP is accepted: a Bearer token is refused before it is even verified.
// - RFC 9110 §11.6.1 / RFC 9449 §7.2: every challenge lists each scheme we accept (Bearer unless
//   DPOP_REQUIRED, and DPoP with `algs`, §7.1); the error sits in the challenge of the scheme the request used.
// - Every step and refusal is an event on app.events (plugins/events.ts): metrics and workshop tracing
//   subscribe in their own plugins (token-metrics.ts, workshop.ts).
//
// Authentication runs as an onRequest hook, i.e. before the body is parsed and validated: a caller without a
// valid token learns nothing about our input rules and cannot make us parse large bodies.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { DpopProofError, OAuthError, RETRY_AFTER_SECONDS, safeDescription, verifyDpopProof } from '@quartet/common';
import { dpopAlgorithms, verifierOptions } from '../config.js';
import {
  AccessTokenVerifier,
  InvalidTokenError,
  KeySourceUnavailableError,
  type AccessToken,
  type AccessTokenVerifierOptions,
} from '../lib/access-token-verifier.js';
import { observeKeyFetches, watchKeyFetches, type KeyFetch } from '../lib/key-fetch-observer.js';
import { externalUrl, resourceMetadataUrl } from '../lib/resource-metadata.js';
import type { CheckFailure } from './events.js';

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

/** error_descriptions of the DPoP refusals (RFC 9449 §7; must fit RFC 6750 §3: no quotes, no backslash). */
export const DPOP_REQUIRED_DESCRIPTION =
  'This resource accepts only DPoP-bound access tokens, sent with the DPoP scheme and a DPoP proof.';
export const DPOP_BOUND_AS_BEARER_DESCRIPTION =
  'This access token is DPoP-bound: send it with the DPoP scheme and a DPoP proof, not as a Bearer token.';
export const DPOP_UNBOUND_DESCRIPTION =
  'This access token is not DPoP-bound, so it cannot be sent with the DPoP scheme.';
export const DPOP_MISSING_PROOF_DESCRIPTION = 'The DPoP scheme requires a DPoP proof in the DPoP header.';

/** error_description of the 403 for a client_credentials token (must fit RFC 6750 §3: no quotes, no backslash). */
export const CLIENT_TOKEN_DESCRIPTION =
  "This API serves a person's own photos and documents; a token issued to a client for itself (client_credentials) has no person behind it.";

/** The authentication schemes we accept an access token with (RFC 6750 §2.1, RFC 9449 §7.1). */
export type Scheme = 'Bearer' | 'DPoP';

export interface PresentedToken {
  scheme: Scheme;
  token: string;
}

// RFC 6750 §2.1 / RFC 9449 §7.1: credentials = ("Bearer" / "DPoP") 1*SP token68; the scheme name is
// case-insensitive (RFC 9110 §11.1).
const CREDENTIALS = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*)$/i;
const TOKEN_SCHEME = /^(Bearer|DPoP)(?: |$)/i;

/** Quotes a WWW-Authenticate parameter value, dropping characters RFC 6750 §3 does not allow in it. */
function quote(value: string): string {
  return `"${value.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '')}"`;
}

export interface ChallengeParams {
  error?: string;
  error_description?: string;
  scope?: string;
  /** RFC 9449 §7.1: the proof algorithms we accept (DPoP challenges only). */
  algs?: string;
  resource_metadata?: string;
}

/** `<scheme> realm="…"[, error=…, error_description=…, scope=…][, algs=…], resource_metadata="…"`. */
function challenge(scheme: Scheme, params: ChallengeParams): string {
  const parts = [`realm=${quote(REALM)}`];
  for (const [name, value] of Object.entries(params)) if (value !== undefined) parts.push(`${name}=${quote(value)}`);
  return `${scheme} ${parts.join(', ')}`;
}

/** `Bearer realm="…"[, error=…, error_description=…, scope=…], resource_metadata="…"` (RFC 6750 §3, RFC 9728 §5.1). */
export function bearerChallenge(params: ChallengeParams = {}): string {
  return challenge('Bearer', params);
}

/** `DPoP realm="…"[, error=…, …], algs="ES256 …", resource_metadata="…"` (RFC 9449 §7.1, RFC 9728 §5.1). */
export function dpopChallenge(params: ChallengeParams, algorithms: readonly string[]): string {
  const { resource_metadata, ...rest } = params;
  return challenge('DPoP', { ...rest, algs: algorithms.join(' '), resource_metadata });
}

/** The schemes a request may use here: DPoP always, Bearer unless DPOP_REQUIRED (RFC 9449 §7.2). */
function acceptedSchemes(request: FastifyRequest): Scheme[] {
  return request.server.config.DPOP_REQUIRED ? ['DPoP'] : ['Bearer', 'DPoP'];
}

/**
 * The WWW-Authenticate value for `request`: one challenge per accepted scheme (RFC 9110 §11.6.1, RFC 9449
 * §7.2), `params` (the error) in the one of `scheme` — listed first — and the others bare; each names our
 * metadata (RFC 9728 §5.1). `scheme` is the one the request used, or DPoP when it used a refused Bearer.
 */
function challengesFor(request: FastifyRequest, scheme: Scheme | null, params: ChallengeParams = {}): string {
  // Decorated on the root by the plugin below (fastify-plugin), so every route's instance sees it.
  const resource_metadata = request.server.resourceMetadataUrl;
  const accepted = acceptedSchemes(request);
  const errorScheme = scheme !== null && !accepted.includes(scheme) ? 'DPoP' : scheme;
  const ordered = errorScheme === null ? accepted : [errorScheme, ...accepted.filter((s) => s !== errorScheme)];
  return ordered
    .map((s) => {
      const own = s === errorScheme ? { ...params, resource_metadata } : { resource_metadata };
      return s === 'DPoP' ? dpopChallenge(own, dpopAlgorithms(request.server.config)) : bearerChallenge(own);
    })
    .join(', ');
}

function authError(
  request: FastifyRequest,
  scheme: Scheme,
  error: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof',
  description: string,
  extra: { scope?: string } = {},
): OAuthError {
  return new OAuthError(error, description, {
    // RFC 9449 §7.1: invalid_dpop_proof is an authentication failure at the RS, so 401 like invalid_token.
    ...(error === 'invalid_dpop_proof' ? { status: 401 } : {}),
    headers: {
      'www-authenticate': challengesFor(request, scheme, { error, error_description: description, ...extra }),
    },
  });
}

/**
 * The token the request presents and its scheme, or null when it presents none. Throws invalid_request when
 * it is malformed or presented in a way we do not accept.
 */
export function extractAccessToken(request: FastifyRequest): PresentedToken | null {
  const header = request.headers.authorization;
  const query = request.query as Record<string, unknown> | undefined;
  const inQuery = query !== undefined && query !== null && Object.hasOwn(query, 'access_token');
  const named = header === undefined ? null : TOKEN_SCHEME.exec(header);
  const scheme: Scheme = named?.[1]?.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
  if (inQuery && named) {
    throw authError(request, scheme, 'invalid_request', 'The access token must be sent by exactly one method.');
  }
  if (inQuery) {
    throw authError(
      request,
      'Bearer',
      'invalid_request',
      'Access tokens in the query string are not accepted; use the Authorization header.',
    );
  }
  // Another scheme (e.g. Basic) is "an unsupported authentication method": RFC 6750 §3.1 says no error code.
  if (!named || header === undefined) return null;
  const match = CREDENTIALS.exec(header);
  if (!match?.[2]) {
    // No quotes around the scheme: error_description allows none (RFC 6750 §3), in the header or the body.
    throw authError(
      request,
      scheme,
      'invalid_request',
      `The Authorization header must be ${scheme} followed by one access token.`,
    );
  }
  return { scheme, token: match[2] };
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
      const refuse = (reason: CheckFailure, err: OAuthError, accessToken?: AccessToken): OAuthError => {
        events.emit('check.failed', { request, reason, ...(accessToken ? { accessToken } : {}) });
        return err;
      };
      let presented: PresentedToken | null;
      try {
        presented = extractAccessToken(request);
      } catch (err) {
        throw refuse('malformed_request', err as OAuthError);
      }
      if (presented === null) {
        events.emit('check.failed', { request, reason: 'missing' });
        // RFC 6750 §3.1: no error code in the challenge. The body still says what to do; "unauthorized" is
        // deliberately not an RFC 6750 code, so a client keying on error codes cannot mistake it for one.
        return reply
          .code(401)
          .headers({ 'www-authenticate': challengesFor(request, null), 'cache-control': 'no-store' })
          .send({
            error: 'unauthorized',
            error_description: config.DPOP_REQUIRED
              ? 'This resource requires a DPoP-bound access token with a DPoP proof.'
              : 'This resource requires a Bearer or DPoP access token.',
          });
      }
      const { scheme, token } = presented;
      // DPOP_REQUIRED: no Bearer token is looked at, bound or not (RFC 9449 §7.2).
      if (scheme === 'Bearer' && config.DPOP_REQUIRED) {
        throw refuse('dpop_required', authError(request, 'DPoP', 'invalid_token', DPOP_REQUIRED_DESCRIPTION));
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
          throw refuse(err.reason, authError(request, scheme, 'invalid_token', err.description));
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
      if (scheme === 'Bearer' && accessToken.jkt !== undefined) {
        // RFC 9449 §7.2: a bound token used as a Bearer token is what a thief without the key would send.
        const err = authError(request, 'DPoP', 'invalid_token', DPOP_BOUND_AS_BEARER_DESCRIPTION);
        throw refuse('dpop_bound_bearer', err, accessToken);
      }
      if (scheme === 'DPoP') await checkDpopProof(request, token, accessToken, refuse);
      events.emit('token.verified', { request, token, accessToken, fetches, metadataUrl: verifier.metadataUrl });
      // RFC 9068 §2.2: a client_credentials token's sub is its client_id. No `scope` in this challenge: asking
      // for more scopes cannot make such a token act for a person.
      if (accessToken.sub === accessToken.clientId) {
        throw refuse(
          'client_token',
          authError(request, scheme, 'insufficient_scope', CLIENT_TOKEN_DESCRIPTION),
          accessToken,
        );
      }
      if (!accessToken.scopes.includes(scope)) {
        events.emit('scope.insufficient', { request, scope, accessToken });
        throw authError(request, scheme, 'insufficient_scope', `This request requires the ${scope} scope.`, { scope });
      }
      events.emit('token.accepted', { request, scope, accessToken });
      request.accessToken = accessToken;
      return undefined;
    };
  });

  /**
   * RFC 9449 §7.1: the token is bound (cnf.jkt) and the request carries a valid proof of that key for this
   * request and this token. Throws 401 invalid_token (unbound token) or invalid_dpop_proof.
   */
  async function checkDpopProof(
    request: FastifyRequest,
    token: string,
    accessToken: AccessToken,
    refuse: (reason: CheckFailure, err: OAuthError, accessToken?: AccessToken) => OAuthError,
  ): Promise<void> {
    if (accessToken.jkt === undefined) {
      const err = authError(request, 'DPoP', 'invalid_token', DPOP_UNBOUND_DESCRIPTION);
      throw refuse('dpop_unbound', err, accessToken);
    }
    const proofHeader = request.headers.dpop;
    if (proofHeader === undefined) {
      const err = authError(request, 'DPoP', 'invalid_dpop_proof', DPOP_MISSING_PROOF_DESCRIPTION);
      throw refuse('dpop_proof', err, accessToken);
    }
    // Tells a replay (a jti seen before: a copied request) apart from other proof defects, for the metric.
    let replayed = false;
    try {
      await verifyDpopProof(proofHeader, {
        method: request.method,
        url: externalUrl(config.RESOURCE_ID, request.url),
        maxAgeSeconds: config.DPOP_PROOF_LIFETIME,
        clockSkewSeconds: config.CLOCK_TOLERANCE,
        algorithms: dpopAlgorithms(config),
        accessToken: token,
        expectedJkt: accessToken.jkt,
        replay: {
          firstUse: async (key, ttlSeconds) => {
            const first = await app.dpopReplay.firstUse(key, ttlSeconds);
            replayed = !first;
            return first;
          },
        },
        replayKeyPrefix: 'dpop-jti:',
      });
    } catch (err) {
      // StoreFullError and StorageUnavailableError pass through: 503 + Retry-After (json-errors).
      if (!(err instanceof DpopProofError)) throw err;
      // RFC 6750 §3 allows no double quote in error_description (the module quotes "dpop+jwt"): drop them.
      const description = safeDescription(err.description.replaceAll('"', ''));
      throw refuse(
        replayed ? 'dpop_replay' : 'dpop_proof',
        authError(request, 'DPoP', 'invalid_dpop_proof', description),
        accessToken,
      );
    }
  }
}

export default fp(tokenVerifier, {
  name: 'token-verifier',
  dependencies: ['config', 'events', 'json-errors', 'dpop-replay'],
});

/** The verified token of a request that passed requireScope (routes call this instead of reading the decorator). */
export function ownerOf(request: FastifyRequest): string {
  if (!request.accessToken) {
    // Only reachable if a route forgot its requireScope hook: fail closed.
    throw authError(request, 'Bearer', 'invalid_token', 'No verified access token.');
  }
  return request.accessToken.sub;
}
