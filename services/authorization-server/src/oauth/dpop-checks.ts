// DPoP (RFC 9449) at the token endpoint and the PAR endpoint: the proof a request carries, checked with the shared
// module (@quartet/common dpop.ts) before anything else is looked at, so a bad proof spends no code or refresh
// token. With DPOP_NONCE_REQUIRED a proof must also carry a nonce this server gave out (§8), and every answer of
// these endpoints carries a fresh one (the DPoP-Nonce header).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DpopProofError, OAuthError, replayGuardFrom, verifyDpopProof, type ReplayGuard } from '@quartet/common';
import type { ClientRecord } from '../domain/records.js';
import { DpopNonces } from '../lib/dpop-nonces.js';
import { dpopAlgorithms } from '../config.js';

/**
 * The endpoints that take proofs, with the replay key prefix of each (a jti is single use per endpoint); the PAR
 * one is not `par:`, the pushed requests' own keys (stores/pushed-requests.ts).
 */
const ENDPOINTS = { '/oauth/token': 'token:', '/oauth/par': 'dpop-par:' } as const;
type DpopEndpoint = keyof typeof ENDPOINTS;

const guards = new WeakMap<FastifyInstance, ReplayGuard>();
const nonceSources = new WeakMap<object, DpopNonces>();

/** One replay guard per app: the jti set lives in the app's key-value store (Redis across instances). */
function replayGuard(app: FastifyInstance): ReplayGuard {
  let guard = guards.get(app);
  if (!guard) {
    guard = replayGuardFrom(app.kv, { name: 'dpop-proofs', maxEntries: app.config.MAX_DPOP_PROOFS });
    guards.set(app, guard);
  }
  return guard;
}

/** The server's nonces (RFC 9449 §8), the same on every instance (lib/dpop-nonces.ts). */
export function dpopNonces(app: FastifyInstance): DpopNonces {
  let nonces = nonceSources.get(app.config);
  if (!nonces) {
    nonces = new DpopNonces(app.config.KEY_ENCRYPTION_SECRET);
    nonceSources.set(app.config, nonces);
  }
  return nonces;
}

/**
 * Checks the proof against `endpoint` and returns its key's thumbprint. A bad proof is 400 invalid_dpop_proof
 * (§5.2); one without a current nonce, where one is required, is 400 use_dpop_nonce with a DPoP-Nonce header
 * (§8): the client makes a new proof with that nonce and sends the request again.
 */
async function proofKey(
  app: FastifyInstance,
  request: FastifyRequest,
  header: string | string[],
  endpoint: DpopEndpoint,
): Promise<string> {
  const nonces = app.config.DPOP_NONCE_REQUIRED ? dpopNonces(app) : undefined;
  try {
    // §4.3 step 9: htu is the endpoint as the client addresses it, the issuer's public URL.
    const proof = await verifyDpopProof(header, {
      method: request.method,
      url: `${app.config.ISSUER}${endpoint}`,
      maxAgeSeconds: app.config.DPOP_PROOF_LIFETIME,
      algorithms: dpopAlgorithms(app.config),
      replay: replayGuard(app),
      replayKeyPrefix: ENDPOINTS[endpoint],
      ...(nonces ? { nonce: async (value: string | undefined) => nonces.accepts(value) } : {}),
    });
    return proof.jkt;
  } catch (err) {
    if (!(err instanceof DpopProofError)) throw err;
    if (err.error === 'use_dpop_nonce')
      throw new OAuthError('use_dpop_nonce', err.description, {
        reason: 'dpop-nonce',
        headers: { 'dpop-nonce': dpopNonces(app).current() },
      });
    throw new OAuthError(err.error, err.description, { reason: 'dpop-proof' });
  }
}

export const DPOP_REQUIRED_DESCRIPTION = 'This server requires a DPoP proof with every token request (RFC 9449).';

/**
 * The thumbprint of a token request's valid DPoP proof (RFC 9449 §5: the key the access token is bound to), or
 * undefined when no DPoP header came. Without one, DPOP_REQUIRED refuses every request and a client registered
 * with dpop_bound_access_tokens (§5.2) its own. §5.2 names no error code for that: invalid_request, since the
 * proof is the missing part of the request (RFC 6749 §5.2), not an invalid one (node-oidc-provider answers
 * invalid_grant).
 */
export async function readDpopBinding(
  app: FastifyInstance,
  request: FastifyRequest,
  client: ClientRecord,
): Promise<string | undefined> {
  const header = request.headers.dpop;
  if (header !== undefined) return proofKey(app, request, header, '/oauth/token');
  if (app.config.DPOP_REQUIRED)
    throw new OAuthError('invalid_request', DPOP_REQUIRED_DESCRIPTION, { reason: 'dpop-required' });
  if (client.dpopBoundAccessTokens)
    throw new OAuthError(
      'invalid_request',
      'This client is registered with dpop_bound_access_tokens: every token request needs a DPoP proof.',
      { reason: 'dpop-required-by-client' },
    );
  return undefined;
}

/** RFC 9449 §10.1: the key of a pushed authorization request's DPoP proof, which binds the code; none: undefined. */
export async function readPushedProofKey(app: FastifyInstance, request: FastifyRequest): Promise<string | undefined> {
  const header = request.headers.dpop;
  return header === undefined ? undefined : proofKey(app, request, header, '/oauth/par');
}

/**
 * RFC 9449 §8.1: with DPOP_NONCE_REQUIRED, every answer of the routes of `app` (the token or PAR endpoint's own
 * plugin), success or error, carries a fresh nonce, so a client always holds a current one.
 */
export function provideDpopNonces(app: FastifyInstance): void {
  if (!app.config.DPOP_NONCE_REQUIRED) return;
  const nonces = dpopNonces(app);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('dpop-nonce', nonces.current());
    return payload;
  });
}
