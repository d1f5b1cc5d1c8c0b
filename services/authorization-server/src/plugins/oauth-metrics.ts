// The authorization server's own Prometheus counters (on top of the request metrics every service has, see
// @quartet/common metrics.ts). Label values are fixed lists, never client input, so the number of series
// stays bounded: grant types are counted only once requireSupportedGrant has accepted them. The counters move
// on protocol events (domain/events.ts): no check calls a counter.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Counter } from 'prom-client';
import { SUPPORTED_GRANT_TYPES } from '../oauth/token-checks.js';

/**
 * Why a code redemption (RFC 6749 §4.1.3) was refused: malformed (code or code_verifier missing or
 * malformed), invalid (unknown, expired or already used), replay (reused by its own client: its grant was
 * revoked, §4.1.2), client (issued to another client), redirect_uri, pkce (RFC 7636 §4.6), resource
 * (RFC 8707 invalid_target), dpop_key (bound to a DPoP key the request did not prove, RFC 9449 §10).
 */
export const CODE_REJECTIONS = [
  'malformed',
  'invalid',
  'replay',
  'client',
  'redirect_uri',
  'pkce',
  'resource',
  'dpop_key',
] as const;
export type CodeRejection = (typeof CODE_REJECTIONS)[number];

/** The rules (OAuthError reasons) of a code redemption, by the rejection they count as. */
export const CODE_REJECTION_BY_REASON: Record<string, CodeRejection> = {
  'code-missing': 'malformed',
  'code-verifier-missing': 'malformed',
  'code-verifier-malformed': 'malformed',
  'code-invalid': 'invalid',
  'code-replayed': 'replay',
  'code-other-client': 'client',
  'redirect-uri-mismatch': 'redirect_uri',
  'pkce-mismatch': 'pkce',
  'resource-repeated': 'resource',
  'resource-malformed': 'resource',
  'resource-fragment': 'resource',
  'resource-unknown': 'resource',
  'resource-not-granted': 'resource',
  'code-dpop-key-mismatch': 'dpop_key',
};

/**
 * Pushed authorization requests (RFC 9126): pushed (a request_uri issued), refused (the PAR endpoint answered an
 * error), used (a request_uri taken at /authorize), rejected (/authorize refused a request_uri: malformed,
 * unknown, expired, used or another client's).
 */
export const PAR_OUTCOMES = ['pushed', 'refused', 'used', 'rejected'] as const;

export interface OAuthMetrics {
  tokensIssued: Counter<'grant_type'>;
  loginFailures: Counter;
  codesRedeemed: Counter;
  codesRejected: Counter<'reason'>;
  refreshTokenReuse: Counter;
  deviceAuthorizations: Counter<'outcome'>;
  deviceSlowDowns: Counter;
  userCodesRejected: Counter;
  pushedAuthorizationRequests: Counter<'outcome'>;
}

/** What became of device authorizations (RFC 8628): issued, approved, denied, redeemed for tokens. */
export const DEVICE_OUTCOMES = ['issued', 'approved', 'denied', 'redeemed'] as const;

declare module 'fastify' {
  interface FastifyInstance {
    oauthMetrics: OAuthMetrics;
  }
}

async function oauthMetrics(app: FastifyInstance): Promise<void> {
  const m = app.metrics;
  const metrics: OAuthMetrics = {
    tokensIssued: m.counter({
      name: 'quartet_tokens_issued_total',
      help: 'Access tokens issued at the token endpoint, by grant type.',
      labelNames: ['grant_type'],
      initial: SUPPORTED_GRANT_TYPES.map((grant_type) => ({ grant_type })),
    }),
    loginFailures: m.counter({
      name: 'quartet_login_failures_total',
      help: 'Login attempts with a wrong username or password.',
    }),
    codesRedeemed: m.counter({
      name: 'quartet_authorization_codes_redeemed_total',
      help: 'Authorization codes exchanged for tokens.',
    }),
    codesRejected: m.counter({
      name: 'quartet_authorization_codes_rejected_total',
      help: 'Authorization code redemptions refused, by reason (malformed, invalid, replay, client, redirect_uri, pkce, resource).',
      labelNames: ['reason'],
      initial: CODE_REJECTIONS.map((reason) => ({ reason })),
    }),
    refreshTokenReuse: m.counter({
      name: 'quartet_refresh_token_reuse_total',
      help: 'Rotated refresh tokens presented again (RFC 9700 §4.14.2): each revoked its grant.',
    }),
    deviceAuthorizations: m.counter({
      name: 'quartet_device_authorizations_total',
      help: 'Device authorizations (RFC 8628), by outcome (issued, approved, denied, redeemed).',
      labelNames: ['outcome'],
      initial: DEVICE_OUTCOMES.map((outcome) => ({ outcome })),
    }),
    deviceSlowDowns: m.counter({
      name: 'quartet_device_slow_down_total',
      help: 'Device polls answered slow_down (RFC 8628 §3.5): the device polled before its interval was up.',
    }),
    userCodesRejected: m.counter({
      name: 'quartet_device_user_codes_rejected_total',
      help: 'User codes typed on the verification page that were unknown, expired or already used.',
    }),
    pushedAuthorizationRequests: m.counter({
      name: 'quartet_pushed_authorization_requests_total',
      help: 'Pushed authorization requests (RFC 9126), by outcome (pushed, refused, used, rejected).',
      labelNames: ['outcome'],
      initial: PAR_OUTCOMES.map((outcome) => ({ outcome })),
    }),
  };
  app.decorate('oauthMetrics', metrics);

  const { events } = app;
  events.on('token.issued', ({ grantType }) => metrics.tokensIssued.inc({ grant_type: grantType }));
  events.on('login.failed', () => metrics.loginFailures.inc());
  events.on('code.redeemed', () => metrics.codesRedeemed.inc());
  events.on('refresh.reused', () => metrics.refreshTokenReuse.inc());
  events.on('device.authorized', () => metrics.deviceAuthorizations.inc({ outcome: 'issued' }));
  events.on('device.approved', () => metrics.deviceAuthorizations.inc({ outcome: 'approved' }));
  events.on('device.denied', () => metrics.deviceAuthorizations.inc({ outcome: 'denied' }));
  events.on('device.redeemed', () => metrics.deviceAuthorizations.inc({ outcome: 'redeemed' }));
  events.on('device.polled-too-fast', () => metrics.deviceSlowDowns.inc());
  events.on('device.user-code-rejected', () => metrics.userCodesRejected.inc());
  events.on('par.pushed', () => metrics.pushedAuthorizationRequests.inc({ outcome: 'pushed' }));
  events.on('authorization.validated', ({ pushed }) => {
    if (pushed) metrics.pushedAuthorizationRequests.inc({ outcome: 'used' });
  });
  events.on('par.request-uri-rejected', () => metrics.pushedAuthorizationRequests.inc({ outcome: 'rejected' }));
  events.on('check.failed', ({ endpoint, grantType, reason }) => {
    if (endpoint === '/oauth/par') metrics.pushedAuthorizationRequests.inc({ outcome: 'refused' });
    if (endpoint !== '/oauth/token' || grantType !== 'authorization_code') return;
    const rejection = CODE_REJECTION_BY_REASON[reason];
    if (rejection) metrics.codesRejected.inc({ reason: rejection });
  });
}

export default fp(oauthMetrics, { name: 'oauth-metrics', dependencies: ['metrics', 'events'] });
