// DPoP proofs (RFC 9449 §4.2) made with jose, as a client would make them, for the token endpoint tests.
import { randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface DpopKey {
  privateKey: PrivateKey;
  jwk: JWK;
  jkt: string;
}

export async function dpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

export interface ProofOptions {
  htm?: string;
  htu?: string;
  iat?: number;
  jti?: string;
  nonce?: string;
  typ?: string;
  alg?: string;
}

export function dpopProof(key: DpopKey, htu: string, options: ProofOptions = {}): Promise<string> {
  return new SignJWT({
    htm: options.htm ?? 'POST',
    htu: options.htu ?? htu,
    jti: options.jti ?? randomUUID(),
    ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
  })
    .setProtectedHeader({ typ: options.typ ?? 'dpop+jwt', alg: options.alg ?? 'ES256', jwk: key.jwk })
    .setIssuedAt(options.iat ?? Math.floor(Date.now() / 1000))
    .sign(key.privateKey);
}
