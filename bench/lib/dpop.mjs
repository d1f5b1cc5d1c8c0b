// DPoP proofs (RFC 9449 §4.2) as a client makes them, one per request: ES256 over a key made for the run.
// Signed with node:crypto's synchronous sign() rather than jose, because autocannon builds each request in a
// synchronous setupRequest and jose's sign is asynchronous (WebCrypto). The cost of signing falls on the
// benchmark's own process (as it would on a client), not on the measured server, whose CPU µs/request is the
// figure to judge DPoP's cost by.
import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';

const b64 = (text) => Buffer.from(text).toString('base64url');
/** RFC 9449 §4.2 ath: base64url SHA-256 of the access token. */
const hash = (text) => createHash('sha256').update(text).digest('base64url');

/** A DPoP key: `jkt` (RFC 7638 thumbprint, the cnf.jkt of tokens bound to it) and `proof(htm, htu, token?)`. */
export function dpopKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { crv, kty, x, y } = publicKey.export({ format: 'jwk' });
  // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
  const jkt = hash(JSON.stringify({ crv, kty, x, y }));
  const header = b64(JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } }));
  return {
    jkt,
    proof(htm, htu, accessToken) {
      const claims = { jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000) };
      if (accessToken !== undefined) claims.ath = hash(accessToken);
      const input = `${header}.${b64(JSON.stringify(claims))}`;
      // RFC 7518 §3.4: ES256 signatures are R || S (IEEE P1363), not DER.
      const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
      return `${input}.${signature.toString('base64url')}`;
    },
  };
}

/** Throws unless the token response is DPoP-bound (RFC 9449 §5: token_type DPoP), with what the AS said. */
export function requireDpopToken(tokens) {
  if (tokens.token_type !== 'DPoP') {
    throw new Error(
      `the authorization server answered token_type ${tokens.token_type} to a token request with a DPoP proof: ` +
        'this build does not issue DPoP-bound tokens (RFC 9449 §5)',
    );
  }
  return tokens;
}
