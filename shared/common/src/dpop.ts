// DPoP proof checks (RFC 9449 §4.3), shared by the authorization server (token endpoint, PAR) and the resource
// server (protected resource requests, §7). jose does the JOSE part (compact JWS, signature, the embedded public
// key); what it does not know — the DPoP claims, the htu comparison, the iat window, single use of jti, ath and
// the key binding — is written here because no maintained library checks a DPoP proof on the server side
// (oauth4webapi and openid-client only make proofs).
import { createHash } from 'node:crypto';
import { EmbeddedJWK, calculateJwkThumbprint, errors, jwtVerify, type JWK } from 'jose';
import type { KeySpace, KeyValueStore } from './kv-store.js';

/**
 * Asymmetric algorithms a proof may be signed with (RFC 9449 §4.3 step 5: never none or a MAC). Ed25519 is EdDSA
 * with Ed25519 under its fully specified name (RFC 9864), which oauth4webapi and openid-client sign such keys with.
 */
export const DPOP_ALGORITHMS: readonly string[] = ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'PS384'];

/** A proof the server refuses: `invalid_dpop_proof`, or `use_dpop_nonce` when a (fresh) nonce is needed (§8). */
export class DpopProofError extends Error {
  constructor(
    readonly error: 'invalid_dpop_proof' | 'use_dpop_nonce',
    readonly description: string,
  ) {
    super(description);
    this.name = 'DpopProofError';
  }
}

/** Remembers identifiers for a while; firstUse() is true only for the first use of a key (atomic). */
export interface ReplayGuard {
  firstUse(key: string, ttlSeconds: number): Promise<boolean>;
}

/** A replay guard in a capped key space of the service's store (Redis shared by instances, or in-process). */
export function replayGuardFrom(kv: KeyValueStore, space: KeySpace): ReplayGuard {
  return { firstUse: (key, ttlSeconds) => kv.addIn(space, key, ttlSeconds) };
}

export interface DpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's public key: what cnf.jkt and dpop_jkt carry (§6.1, §10). */
  jkt: string;
  jwk: JWK;
  jti: string;
  iat: number;
  htm: string;
  htu: string;
  nonce?: string;
  ath?: string;
}

export interface DpopCheckOptions {
  /** The request's method and its full URL as the client addresses it (the service's public origin). */
  method: string;
  url: string;
  algorithms?: readonly string[];
  /** How old a proof may be (iat), and how far in the future a client's clock may be (§4.3 step 11, §11.1). */
  maxAgeSeconds?: number;
  clockSkewSeconds?: number;
  /** At a protected resource: the access token the proof must carry the hash of (ath, §4.3 step 12). */
  accessToken?: string;
  /** The thumbprint the proof's key must have: the token's cnf.jkt (§7.1). */
  expectedJkt?: string;
  /** Server-provided nonce check (§8, §9): false answers use_dpop_nonce. */
  nonce?: (value: string | undefined) => Promise<boolean>;
  replay: ReplayGuard;
  replayKeyPrefix?: string;
  now?: () => number;
}

const MAX_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;

const fail = (description: string) => new DpopProofError('invalid_dpop_proof', description);

/** base64url SHA-256 of the ASCII access token: the proof's ath claim (§4.2). */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

export function jwkThumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, 'sha256');
}

/**
 * The part of a URL that htu is compared on: RFC 9449 §4.3 step 9 ignores query and fragment, and compares
 * after RFC 3986 §6.2.2/§6.2.3 normalisation (case of scheme and host, default port, dot segments, percent
 * encoding), which the WHATWG URL parser applies. Throws for anything that is not an absolute http(s) URL.
 */
export function normalizeHtu(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError('htu must be an http(s) URL');
  return `${parsed.origin}${parsed.pathname}`;
}

function singleHeader(header: string | string[] | undefined): string {
  // §4.3 step 1: exactly one DPoP HTTP request header field.
  if (Array.isArray(header)) {
    if (header.length !== 1) throw fail('Send exactly one DPoP header.');
    header = header[0];
  }
  if (header === undefined || header === '') throw fail('The DPoP header is empty.');
  if (header.length > MAX_PROOF_LENGTH || header.includes(',')) throw fail('Send exactly one DPoP proof.');
  return header;
}

function describeJoseFailure(err: unknown): DpopProofError {
  if (err instanceof errors.JOSEAlgNotAllowed) return fail('The DPoP proof is signed with an algorithm not allowed.');
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'typ') {
    return fail('The DPoP proof must have typ "dpop+jwt".');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return fail('The DPoP proof signature is invalid.');
  if (err instanceof errors.JOSEError) return fail(`The DPoP proof is not valid: ${err.message}`);
  throw err;
}

/**
 * Checks one DPoP proof against the request it came with (RFC 9449 §4.3 steps 1–12) and records its jti as
 * used. Call it only when the request carries a DPoP header (or must: a missing header is refused).
 */
export async function verifyDpopProof(
  header: string | string[] | undefined,
  opts: DpopCheckOptions,
): Promise<DpopProof> {
  const proof = singleHeader(header);
  const algorithms = [...(opts.algorithms ?? DPOP_ALGORITHMS)];
  const now = Math.floor((opts.now ?? Date.now)() / 1000);
  const maxAge = opts.maxAgeSeconds ?? 60;
  const skew = opts.clockSkewSeconds ?? 5;

  // §4.3 steps 2–7: a well-formed JWS, typ dpop+jwt, an allowed asymmetric alg, a signature by the public key
  // in its jwk header (jose's EmbeddedJWK refuses a private key there). iat is checked below, against our window.
  let verified;
  try {
    verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms });
  } catch (err) {
    throw describeJoseFailure(err);
  }
  const { payload, protectedHeader } = verified;
  const jwk = protectedHeader.jwk as JWK;

  // §4.2 required claims.
  const { jti, htm, htu, iat, nonce, ath } = payload as Record<string, unknown>;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw fail('The DPoP proof needs a jti of at most 256 characters.');
  }
  if (typeof htm !== 'string') throw fail('The DPoP proof needs an htm claim.');
  if (typeof htu !== 'string') throw fail('The DPoP proof needs an htu claim.');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw fail('The DPoP proof needs a numeric iat claim.');

  // §4.3 steps 8–9.
  if (htm !== opts.method.toUpperCase()) throw fail(`The DPoP proof's htm must be ${opts.method.toUpperCase()}.`);
  let presented: string;
  try {
    presented = normalizeHtu(htu);
  } catch {
    throw fail("The DPoP proof's htu is not an http(s) URL.");
  }
  if (presented !== normalizeHtu(opts.url)) throw fail("The DPoP proof's htu does not match this request's URL.");

  // §4.3 step 11 and §11.1: a proof is accepted only within a short window around its creation.
  if (iat > now + skew) throw fail('The DPoP proof was issued in the future (check the clock).');
  if (iat < now - maxAge) throw fail('The DPoP proof is too old; make a new one for each request.');

  // §4.3 step 12 / §7.1: at a resource the proof is bound to the access token and to the token's key.
  if (opts.accessToken !== undefined) {
    if (typeof ath !== 'string') throw fail('The DPoP proof must carry ath, the hash of the access token.');
    if (ath !== accessTokenHash(opts.accessToken)) throw fail("The DPoP proof's ath does not match the access token.");
  }
  const jkt = await jwkThumbprint(jwk);
  if (opts.expectedJkt !== undefined && jkt !== opts.expectedJkt) {
    throw fail('The DPoP proof is signed with a key other than the one the token is bound to.');
  }

  // §8 / §9: a server nonce, when the server wants one.
  if (nonce !== undefined && typeof nonce !== 'string') throw fail("The DPoP proof's nonce must be a string.");
  if (opts.nonce && !(await opts.nonce(nonce))) {
    throw new DpopProofError('use_dpop_nonce', 'Use the nonce the server gave in the DPoP-Nonce header.');
  }

  // §11.1: a proof is single use. Recorded last, so proofs refused above do not take places in the guard; the
  // key names the key, target and jti (another client's jti may be the same), hashed to a fixed length.
  const replayKey =
    (opts.replayKeyPrefix ?? 'dpop-jti:') +
    createHash('sha256').update(`${jkt} ${presented} ${jti}`).digest('base64url');
  if (!(await opts.replay.firstUse(replayKey, maxAge + skew))) {
    throw fail('This DPoP proof was already used; make a new one for each request.');
  }

  return {
    jkt,
    jwk,
    jti,
    iat,
    htm,
    htu,
    ...(typeof nonce === 'string' ? { nonce } : {}),
    ...(typeof ath === 'string' ? { ath } : {}),
  };
}
