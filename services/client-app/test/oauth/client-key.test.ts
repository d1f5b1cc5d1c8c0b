// CLIENT_PRIVATE_KEY (src/oauth/client-key.ts): which keys the setting takes and the exact refusal for each one it
// does not, and the assertion the imported key signs (RFC 7523 §3), verified here with the public half.
import t from 'tap';
import { webcrypto } from 'node:crypto';
import { privateKeyJwt, readClientPrivateKey } from '../../src/oauth/client-key.js';
import { readConfig } from '../../src/config.js';

async function privateJwk(algorithm: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams | { name: string }) {
  const pair = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  return webcrypto.subtle.exportKey('jwk', pair.privateKey);
}
const ES256_JWK = { ...(await privateJwk({ name: 'ECDSA', namedCurve: 'P-256' })), kid: 'app-1' };

t.test('the algorithm follows the key, or its alg member (never RS256)', async (t) => {
  const rsa = await privateJwk({
    name: 'RSA-PSS',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  });
  const cases: [string, Record<string, unknown>, string][] = [
    ['EC P-256', ES256_JWK, 'ES256'],
    ['EC P-384', { ...(await privateJwk({ name: 'ECDSA', namedCurve: 'P-384' })), kid: 'k' }, 'ES384'],
    ['Ed25519', { ...(await privateJwk({ name: 'Ed25519' })), kid: 'k' }, 'Ed25519'],
    ['Ed25519 with alg EdDSA', { ...(await privateJwk({ name: 'Ed25519' })), kid: 'k', alg: 'EdDSA' }, 'Ed25519'],
    ['RSA: PSS', { ...rsa, alg: undefined, kid: 'k' }, 'PS256'],
    ['RSA with alg PS384', { ...rsa, alg: 'PS384', kid: 'k' }, 'PS384'],
  ];
  for (const [name, jwk, alg] of cases) t.equal(readClientPrivateKey(JSON.stringify(jwk)).alg, alg, name);
});

t.test('a setting that is not a usable private JWK is refused, naming it', async (t) => {
  const { d: _d, ...publicOnly } = ES256_JWK;
  const cases: [string, string, RegExp][] = [
    [
      'not JSON',
      'not-json',
      /^Invalid configuration: CLIENT_PRIVATE_KEY must be a private JWK as JSON \(RFC 7517\)\.$/,
    ],
    ['a JSON array', '[]', /CLIENT_PRIVATE_KEY must be a private JWK as JSON/],
    ['the public half', JSON.stringify(publicOnly), /CLIENT_PRIVATE_KEY must be the private key \(a JWK with d\)/],
    ['no kid', JSON.stringify({ ...ES256_JWK, kid: undefined }), /CLIENT_PRIVATE_KEY needs a kid/],
    ['alg RS256', JSON.stringify({ ...ES256_JWK, alg: 'RS256' }), /CLIENT_PRIVATE_KEY has alg RS256; use one of ES256/],
    ['an X25519 key', JSON.stringify({ kty: 'OKP', crv: 'X25519', x: 'x', d: 'd', kid: 'k' }), /must be an EC P-256/],
  ];
  for (const [name, value, message] of cases)
    t.throws(() => readConfig({ CLIENT_PRIVATE_KEY: value }), { name: 'ConfigError', message }, name);
  await t.rejects(
    privateKeyJwt(readClientPrivateKey(JSON.stringify({ ...ES256_JWK, d: 'AAAA' }))),
    { name: 'ConfigError', message: /^Invalid configuration: CLIENT_PRIVATE_KEY is not a usable ES256 private key/ },
    'a key WebCrypto cannot import',
  );
  t.equal(readConfig({ CLIENT_PRIVATE_KEY: '' }).CLIENT_PRIVATE_KEY, undefined, 'empty: unset (the secret is used)');
});

t.test('production: with a private key the demo secret is not refused (it is never sent)', async (t) => {
  const prod = {
    PUBLIC_URL: 'https://photos.example.com',
    AUTHORIZATION_SERVER: 'https://auth.example.com',
    RESOURCE_SERVER: 'https://api.example.com',
  };
  t.throws(() => readConfig(prod), { message: /CLIENT_SECRET is the development default/ });
  t.ok(readConfig({ ...prod, CLIENT_PRIVATE_KEY: JSON.stringify(ES256_JWK) }));
});

t.test(
  'the assertion (RFC 7523 §3): iss = sub = client_id, aud the issuer, fresh jti, short life, signed',
  async (t) => {
    const auth = await privateKeyJwt(readClientPrivateKey(JSON.stringify(ES256_JWK)));
    const as = { issuer: 'https://auth.example.com', token_endpoint: 'https://auth.example.com/oauth/token' };
    const assertions: string[] = [];
    for (let i = 0; i < 2; i++) {
      const body = new URLSearchParams({ grant_type: 'client_credentials' });
      const headers = new Headers();
      await auth(as, { client_id: 'photo-app' }, body, headers);
      t.equal(headers.get('authorization'), null, 'no Basic header');
      t.equal(body.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      assertions.push(body.get('client_assertion')!);
    }
    const [header, payload, signature] = assertions[0]!.split('.') as [string, string, string];
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;
    t.match(decode(header), { alg: 'ES256', kid: 'app-1' });
    const claims = decode(payload);
    t.match(claims, { iss: 'photo-app', sub: 'photo-app', aud: as.issuer });
    t.ok((claims.exp as number) - (claims.iat as number) <= 60, 'lives a minute at most');
    t.not(decode(assertions[1]!.split('.')[1]!).jti, claims.jti, 'a fresh jti each time');
    const publicKey = await webcrypto.subtle.importKey(
      'jwk',
      { kty: 'EC', crv: 'P-256', x: ES256_JWK.x, y: ES256_JWK.y },
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['verify'],
    );
    const signed = new TextEncoder().encode(`${header}.${payload}`);
    const valid = await webcrypto.subtle.verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      publicKey,
      Buffer.from(signature, 'base64url'),
      signed,
    );
    t.ok(valid, 'the signature verifies with the public half');
  },
);
