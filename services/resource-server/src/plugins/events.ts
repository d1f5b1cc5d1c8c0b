// The resource server's protocol events (@quartet/common ProtocolEvents) as `app.events`. The Bearer check in
// plugins/token-verifier.ts says what happened; metrics (plugins/token-metrics.ts) and workshop tracing
// (plugins/workshop.ts) subscribe, so no check line calls a counter or a tracer. Listeners run synchronously,
// in subscription order, and one that throws is logged, never turned into the request's answer.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ProtocolEvents } from '@quartet/common';
import type { AccessToken, InvalidTokenReason, KeySourceUnavailableError } from '../lib/access-token-verifier.js';
import type { KeyFetch } from '../lib/key-fetch-observer.js';

/**
 * The fixed word naming the rule a Bearer check refused by: no token (missing), an unusable Authorization
 * header or a token in the query (malformed_request), the token's own defects (InvalidTokenReason), or a valid
 * token acting for no person (client_token), or a DPoP rule (RFC 9449 §7): a Bearer token while DPOP_REQUIRED
 * (dpop_required), a DPoP-bound token sent as Bearer (dpop_bound_bearer), an unbound token sent with the DPoP
 * scheme (dpop_unbound), a proof that is missing or invalid (dpop_proof) or was used before (dpop_replay).
 * Never sent to clients; they get the RFC 6750 / RFC 9449 error.
 */
export type CheckFailure =
  | InvalidTokenReason
  | 'missing'
  | 'malformed_request'
  | 'client_token'
  | 'dpop_required'
  | 'dpop_bound_bearer'
  | 'dpop_unbound'
  | 'dpop_proof'
  | 'dpop_replay';

// A type, not an interface: ProtocolEvents needs the index signature an interface lacks.
export type ResourceServerEvents = {
  /** A Bearer or DPoP token was read from the Authorization header (RFC 6750 §2.1, RFC 9449 §7.1), before it is verified. */
  'token.presented': { request: FastifyRequest };
  /**
   * The authorization server metadata (RFC 8414 §3) or JWKS requests one verification caused, emitted after it
   * (whether it succeeded or not) and only when there were some. Collected only while something listens.
   */
  'keys.fetched': { request: FastifyRequest; token: string; fetches: readonly KeyFetch[]; metadataUrl: string };
  /** The keys cannot be fetched: answered 503 + Retry-After, never 401. */
  'keys.unavailable': { request: FastifyRequest; error: KeySourceUnavailableError };
  /** The signature and the RFC 9068 §4 claims (and for DPoP the proof) are valid (the person and scope checks follow). */
  'token.verified': {
    request: FastifyRequest;
    token: string;
    accessToken: AccessToken;
    fetches: readonly KeyFetch[];
    metadataUrl: string;
  };
  /** A Bearer check refused the request; `accessToken` when the token itself was valid (client_token). */
  'check.failed': { request: FastifyRequest; reason: CheckFailure; accessToken?: AccessToken };
  /** A valid token without the scope the route requires: 403 insufficient_scope (RFC 6750 §3.1). */
  'scope.insufficient': { request: FastifyRequest; scope: string; accessToken: AccessToken };
  /** Every check passed: the request proceeds for `accessToken.sub`. */
  'token.accepted': { request: FastifyRequest; scope: string; accessToken: AccessToken };
};

declare module 'fastify' {
  interface FastifyInstance {
    events: ProtocolEvents<ResourceServerEvents>;
  }
}

async function events(app: FastifyInstance): Promise<void> {
  app.decorate(
    'events',
    new ProtocolEvents<ResourceServerEvents>((err, event) => app.log.error({ err, event }, 'event listener failed')),
  );
}

export default fp(events, { name: 'events' });
