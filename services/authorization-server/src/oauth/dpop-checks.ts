// DPoP (RFC 9449) at the token endpoint: the proof a token request carries, checked with the shared module
// (@quartet/common dpop.ts) before any grant is looked at, so a bad proof spends no code or refresh token.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DpopProofError, OAuthError, replayGuardFrom, verifyDpopProof, type ReplayGuard } from '@quartet/common';

const guards = new WeakMap<FastifyInstance, ReplayGuard>();

/** One replay guard per app: the jti set lives in the app's key-value store (Redis across instances). */
function replayGuard(app: FastifyInstance): ReplayGuard {
  let guard = guards.get(app);
  if (!guard) {
    guard = replayGuardFrom(app.kv, { name: 'dpop-proofs', maxEntries: app.config.MAX_DPOP_PROOFS });
    guards.set(app, guard);
  }
  return guard;
}

/**
 * The thumbprint of the request's valid DPoP proof (RFC 9449 §5: the key the access token is bound to), or
 * undefined when no DPoP header came. A bad proof is 400 invalid_dpop_proof (§5.2); without one, DPOP_REQUIRED
 * refuses the request with invalid_request (the proof is the missing part of the request, RFC 6749 §5.2).
 */
export async function readDpopBinding(app: FastifyInstance, request: FastifyRequest): Promise<string | undefined> {
  const header = request.headers.dpop;
  if (header === undefined) {
    if (app.config.DPOP_REQUIRED)
      throw new OAuthError('invalid_request', 'DPoP is required', { reason: 'dpop-required' });
    return undefined;
  }
  try {
    // §4.3 step 9: htu is the token endpoint as the client addresses it, the issuer's public URL.
    const proof = await verifyDpopProof(header, {
      method: request.method,
      url: `${app.config.ISSUER}/oauth/token`,
      maxAgeSeconds: app.config.DPOP_PROOF_LIFETIME,
      replay: replayGuard(app),
      replayKeyPrefix: 'token:',
    });
    return proof.jkt;
  } catch (err) {
    if (err instanceof DpopProofError) throw new OAuthError(err.error, err.description, { reason: 'dpop-proof' });
    throw err;
  }
}
