// The lab's DPoP proofs (RFC 9449 §4.2), signed here with WebCrypto instead of oauth4webapi because the lab
// must misbehave on purpose — send one proof twice, prove a key the token is not bound to, send a bound token
// with no proof — which oauth4webapi (rightly) never does. ES256 with P-256: WebCrypto's ECDSA signature is
// the raw r||s that JWS wants (RFC 7518 §3.4). The keys live only for one lab run, in this process.
import { createHash, randomUUID, webcrypto } from 'node:crypto';
import { generateDpopKey, publicDpopJwk, type StoredDpopKey } from '../../oauth/dpop.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export interface ProofClaims {
  htm: string;
  /** The request URL; query and fragment are left out as §4.2 says. */
  htu: string;
  accessToken?: string;
  nonce?: string;
}

/** A fresh key for a lab run (the victim's, or the attacker's own). */
export function labKey(): Promise<StoredDpopKey> {
  return generateDpopKey();
}

/** A DPoP proof of `key` for one request: typ dpop+jwt, the public jwk, a fresh jti, ath for a token. */
export async function signProof(key: StoredDpopKey, claims: ProofClaims): Promise<string> {
  const url = new URL(claims.htu);
  const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicDpopJwk(key) });
  const payload = b64({
    jti: randomUUID(),
    htm: claims.htm,
    htu: `${url.origin}${url.pathname}`,
    iat: Math.floor(Date.now() / 1000),
    ...(claims.accessToken
      ? { ath: createHash('sha256').update(claims.accessToken, 'ascii').digest('base64url') }
      : {}),
    ...(claims.nonce ? { nonce: claims.nonce } : {}),
  });
  const privateKey = await webcrypto.subtle.importKey('jwk', key, { name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
  ]);
  const signature = await webcrypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    privateKey,
    Buffer.from(`${header}.${payload}`),
  );
  return `${header}.${payload}.${Buffer.from(signature).toString('base64url')}`;
}
