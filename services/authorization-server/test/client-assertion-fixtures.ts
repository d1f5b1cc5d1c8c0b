// private_key_jwt client keys and assertions (RFC 7523 §2.2, §3) made with jose, as a client would make them, for
// the unit and route tests.
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload } from 'jose';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientKey {
  privateKey: PrivateKey;
  /** The public JWK as registered: kid, alg and use set. */
  jwk: JWK;
  alg: string;
}

/** A key pair for `alg` (ES256, PS256, Ed25519 …) with a public JWK carrying `kid`. */
export async function clientKey(alg = 'ES256', kid: string = randomUUID()): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, alg };
}

export interface AssertionOptions {
  /** Claims to set over the defaults (iss = sub = the client, aud, iat now, exp now + 60, a fresh jti). */
  claims?: JWTPayload;
  /** Claims to leave out. */
  omit?: string[];
  /** Header members over { alg: the key's, kid: the key's }; kid: undefined leaves it out. */
  header?: Record<string, unknown>;
  /** Seconds since the epoch; default the real clock. */
  now?: number;
}

export function assertionClaims(clientId: string, audience: string | string[], options: AssertionOptions = {}) {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    iss: clientId,
    sub: clientId,
    aud: audience,
    iat: now,
    exp: now + 60,
    jti: randomUUID(),
    ...options.claims,
  };
  for (const name of options.omit ?? []) delete claims[name];
  return claims;
}

/** A client assertion signed with `key` (or `signWith`, e.g. another key under the same kid). */
export function clientAssertion(
  key: ClientKey,
  clientId: string,
  audience: string | string[],
  options: AssertionOptions & { signWith?: PrivateKey | Uint8Array } = {},
): Promise<string> {
  const header = { alg: key.alg, kid: key.jwk.kid, ...options.header };
  if ('kid' in header && header.kid === undefined) delete header.kid;
  return new SignJWT(assertionClaims(clientId, audience, options))
    .setProtectedHeader(header as { alg: string })
    .sign(options.signWith ?? key.privateKey);
}

/** An unsecured JWT (alg none, RFC 7519 §6): what a server must never accept. */
export function unsecuredAssertion(clientId: string, audience: string, options: AssertionOptions = {}): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(assertionClaims(clientId, audience, options))}.`;
}

/** The form parameters of private_key_jwt (RFC 7523 §2.2). */
export function assertionForm(jwt: string, extra: Record<string, string> = {}): Record<string, string> {
  return { client_assertion_type: JWT_BEARER, client_assertion: jwt, ...extra };
}
