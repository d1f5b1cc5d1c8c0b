// quartet_token_verification_failures_total{reason} (Prometheus, GET /metrics): every refusal of Bearer or
// DPoP authentication counted once under its reason, from the events of plugins/token-verifier.ts. Labels are
// fixed words, never anything from the token or the URL; every series exists from the start at 0.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { CheckFailure } from './events.js';

/**
 * The metric's reasons: each check.failed reason, a valid token without the scope (scope), and keys that
 * cannot be fetched (keys_unavailable).
 */
export const VERIFICATION_FAILURES: readonly (CheckFailure | 'scope' | 'keys_unavailable')[] = [
  'missing',
  'malformed_request',
  'malformed',
  'alg',
  'bad_signature',
  'unknown_key',
  'typ',
  'issuer',
  'audience',
  'expired',
  'not_yet_valid',
  'claims',
  'invalid',
  'scope',
  'client_token',
  'dpop_required',
  'dpop_bound_bearer',
  'dpop_unbound',
  'dpop_proof',
  'dpop_replay',
  'keys_unavailable',
];
type VerificationFailure = (typeof VERIFICATION_FAILURES)[number];

async function tokenMetrics(app: FastifyInstance): Promise<void> {
  const failures = app.metrics.counter({
    name: 'quartet_token_verification_failures_total',
    help: 'Requests refused by access token authentication (Bearer or DPoP), by reason.',
    labelNames: ['reason'],
    initial: VERIFICATION_FAILURES.map((reason) => ({ reason })),
  });
  const failed = (reason: VerificationFailure) => failures.inc({ reason });
  app.events.on('check.failed', ({ reason }) => failed(reason));
  app.events.on('scope.insufficient', () => failed('scope'));
  app.events.on('keys.unavailable', () => failed('keys_unavailable'));
}

export default fp(tokenMetrics, { name: 'token-metrics', dependencies: ['events', 'metrics'] });
