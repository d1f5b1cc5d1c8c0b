// PROVISIONAL stand-in for the lead's shared DPoP module (issue 17 brief): same API, so the resource server
// can be built and tested before it lands on main. Reverted before `git merge main`; not for review.
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import type { KeySpace, KeyValueStore } from './kv-store.js';

export const DPOP_ALGORITHMS: readonly string[] = ['ES256', 'ES384', 'EdDSA', 'PS256', 'PS384'];

export class DpopProofError extends Error {
  constructor(
    message: string,
    readonly error: 'invalid_dpop_proof' | 'use_dpop_nonce' = 'invalid_dpop_proof',
  ) {
    super(message);
    this.name = 'DpopProofError';
  }
}

export interface ReplayGuard {
  firstUse(key: string, ttlSeconds: number): Promise<boolean>;
}

export function replayGuardFrom(kv: KeyValueStore, space: KeySpace): ReplayGuard {
  return {
    async firstUse(key, ttlSeconds) {
      if ((await kv.get(key)) !== null) return false;
      await kv.setIn(space, key, '1', ttlSeconds);
      return true;
    },
  };
}

export interface DpopProof {
  jkt: string;
  jwk: JWK;
  jti: string;
  iat: number;
  htm: string;
  htu: string;
  nonce?: string;
  ath?: string;
}

export function normalizeHtu(url: string): string {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  return u.href;
}

export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export async function jwkThumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, 'sha256');
}

export async function verifyDpopProof(
  header: string | string[] | undefined,
  opts: {
    method: string;
    url: string;
    algorithms?: readonly string[];
    maxAgeSeconds?: number;
    clockSkewSeconds?: number;
    accessToken?: string;
    expectedJkt?: string;
    nonce?: (value: string | undefined) => Promise<boolean>;
    replay: ReplayGuard;
    replayKeyPrefix?: string;
  },
): Promise<DpopProof> {
  const fail = (m: string): never => {
    throw new DpopProofError(m);
  };
  if (Array.isArray(header)) fail('Exactly one DPoP header is allowed.');
  if (typeof header !== 'string' || header.split('.').length !== 3) fail('The DPoP header is not one compact JWS.');
  const proof = header as string;
  const algorithms = [...(opts.algorithms ?? DPOP_ALGORITHMS)];
  let jwk: JWK;
  try {
    const h = decodeProtectedHeader(proof);
    if (h.typ !== 'dpop+jwt') fail('The DPoP proof typ must be dpop+jwt.');
    if (!algorithms.includes(h.alg ?? '')) fail('The DPoP proof alg is not accepted.');
    jwk = h.jwk as JWK;
    if (!jwk || typeof jwk !== 'object' || 'd' in jwk) fail('The DPoP proof jwk must be a public key.');
  } catch (err) {
    if (err instanceof DpopProofError) throw err;
    return fail('The DPoP proof is malformed.');
  }
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(proof, await importJWK(jwk!, decodeProtectedHeader(proof).alg), {
      algorithms,
      typ: 'dpop+jwt',
    }));
  } catch {
    return fail('The DPoP proof signature is invalid.');
  }
  const { jti, iat, htm, htu, ath, nonce } = payload;
  if (typeof jti !== 'string' || typeof iat !== 'number' || typeof htm !== 'string' || typeof htu !== 'string')
    fail('The DPoP proof lacks jti, iat, htm or htu.');
  if (htm !== opts.method) fail('The DPoP proof htm does not match the request method.');
  let htuOk = false;
  try {
    htuOk = normalizeHtu(htu as string) === normalizeHtu(opts.url);
  } catch {
    /* not a URL */
  }
  if (!htuOk) fail('The DPoP proof htu does not match the request URL.');
  const now = Math.floor(Date.now() / 1000);
  const maxAge = opts.maxAgeSeconds ?? 60;
  const skew = opts.clockSkewSeconds ?? 5;
  if ((iat as number) > now + skew || (iat as number) < now - maxAge - skew)
    fail('The DPoP proof iat is outside the accepted window.');
  if (opts.accessToken !== undefined) {
    if (typeof ath !== 'string') fail('The DPoP proof lacks ath.');
    if (ath !== accessTokenHash(opts.accessToken)) fail('The DPoP proof ath does not match the access token.');
  }
  const jkt = await jwkThumbprint(jwk!);
  if (opts.expectedJkt !== undefined && jkt !== opts.expectedJkt)
    fail('The DPoP proof key does not match the key the token is bound to.');
  if (opts.nonce && !(await opts.nonce(nonce as string | undefined)))
    throw new DpopProofError('A DPoP nonce is required.', 'use_dpop_nonce');
  if (!(await opts.replay.firstUse(`${opts.replayKeyPrefix ?? 'dpop:'}${jkt}:${jti as string}`, maxAge + 2 * skew)))
    fail('The DPoP proof was already used (jti).');
  return {
    jkt,
    jwk: jwk!,
    jti: jti as string,
    iat: iat as number,
    htm: htm as string,
    htu: htu as string,
    ...(typeof nonce === 'string' ? { nonce } : {}),
    ...(typeof ath === 'string' ? { ath } : {}),
  };
}
