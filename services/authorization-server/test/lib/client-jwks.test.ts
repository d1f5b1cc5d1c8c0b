// The keys a private_key_jwt client registers (src/lib/client-jwks.ts; RFC 7517 §4-§5, RFC 7591 §2 jwks, jwks_uri):
// one row per refusal with the exact problem, and what is accepted.
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import type { JWK } from 'jose';
import { checkJwks, jwksUriProblem } from '../../src/lib/client-jwks.js';
import { clientKey } from '../client-assertion-fixtures.js';

const ec = (await clientKey('ES256', 'ec')).jwk;
const ec384 = (await clientKey('ES384', 'ec384')).jwk;
const rsa = (await clientKey('PS256', 'rsa')).jwk;
const okp = (await clientKey('Ed25519', 'okp')).jwk;
const { alg: _alg, use: _use, kid: _kid, ...bare } = ec;
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }) as JWK;
const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey.export({ format: 'jwk' }) as JWK;
const privateEc = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK;

const rows: [string, unknown, string][] = [
  ['not an object', 'keys', 'jwks must be a JWK Set: an object with keys'],
  ['keys not an array', { keys: ec }, 'jwks must be a JWK Set: an object with keys'],
  ['no key', { keys: [] }, 'jwks holds no signing key'],
  [
    'eleven keys',
    { keys: Array.from({ length: 11 }, (_, i) => ({ ...ec, kid: `k${i}` })) },
    'jwks may hold at most 10 signing keys',
  ],
  ['a key that is not an object', { keys: ['x'] }, 'jwks key 1 is not a JSON object'],
  [
    'a private EC key (d)',
    { keys: [ec, privateEc] },
    "jwks key 2 holds private or symmetric key material ('d'): register public keys only",
  ],
  [
    'a symmetric key (oct, k)',
    { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] },
    "jwks key 1 holds private or symmetric key material ('k'): register public keys only",
  ],
  ['EC P-521', { keys: [p521] }, 'jwks key 1 is not an EC P-256 or P-384, RSA or OKP Ed25519 public key'],
  [
    'OKP X25519 (a key agreement key)',
    { keys: [{ kty: 'OKP', crv: 'X25519', x: okp.x }] },
    'jwks key 1 is not an EC P-256 or P-384, RSA or OKP Ed25519 public key',
  ],
  [
    'an encryption key (use enc)',
    { keys: [{ ...ec, use: 'enc' }] },
    'jwks key 1 is not a signing key (its use must be sig, its key_ops include verify)',
  ],
  [
    'key_ops without verify',
    { keys: [{ ...bare, key_ops: ['encrypt'] }] },
    'jwks key 1 is not a signing key (its use must be sig, its key_ops include verify)',
  ],
  ['an RSA key for RS256', { keys: [{ ...rsa, alg: 'RS256' }] }, 'jwks key 1 has an alg other than PS256 or PS384'],
  ['a P-256 key for ES384', { keys: [{ ...ec, alg: 'ES384' }] }, 'jwks key 1 has an alg other than ES256'],
  ['an empty kid', { keys: [{ ...ec, kid: '' }] }, 'jwks key 1 has a kid that is not a string of 1-255 characters'],
  ['two keys with one kid', { keys: [ec, { ...ec384, kid: 'ec' }] }, 'jwks key 2 repeats the kid of another key'],
  ['a point that is not on the curve', { keys: [{ ...ec, y: ec.x }] }, 'jwks key 1 is not a valid EC P-256 public key'],
  ['an RSA key of 1024 bits', { keys: [rsa1024] }, 'jwks key 1 is an RSA key of 1024 bits (at least 2048 are needed)'],
  ['more than 12 KB', { keys: [ec], padding: 'x'.repeat(12 * 1024) }, 'jwks must be at most 12288 bytes'],
];

for (const [name, value, problem] of rows)
  t.test(name, async (t) => {
    t.same(checkJwks(value, 'registered'), { problem });
  });

t.test('accepted: EC P-256 and P-384, RSA of 2048 bits, Ed25519, with or without kid, alg, use', async (t) => {
  const jwks = { keys: [ec, ec384, rsa, okp, bare] };
  t.same(checkJwks(jwks, 'registered'), { jwks }, 'kept as registered');
  t.same(checkJwks({ keys: [{ ...okp, alg: 'EdDSA' }] }, 'registered').problem, undefined);
  t.same(checkJwks({ keys: [{ ...bare, key_ops: ['verify'] }] }, 'registered').problem, undefined);
});

t.test('a published set may hold keys for other uses: left out, not refused', async (t) => {
  const enc = { ...ec384, kid: 'enc', use: 'enc' };
  t.same(checkJwks({ keys: [enc, ec] }, 'fetched'), { jwks: { keys: [ec] } });
  t.same(checkJwks({ keys: [enc] }, 'fetched'), { problem: 'jwks holds no signing key' });
  t.same(checkJwks({ keys: [ec, privateEc] }, 'fetched'), {
    problem: "jwks key 2 holds private or symmetric key material ('d'): register public keys only",
  });
});

t.test('jwks_uri: https, or loopback http with a development issuer; no fragment, no credentials', async (t) => {
  for (const ok of ['https://app.example/jwks.json', 'https://app.example:8443/keys?v=2'])
    t.equal(jwksUriProblem(ok, false), null, ok);
  for (const ok of ['http://localhost:8080/jwks', 'http://127.0.0.1/jwks', 'http://[::1]:9/jwks'])
    t.equal(jwksUriProblem(ok, true), null, ok);
  const rows: [unknown, boolean, string][] = [
    [42, false, 'jwks_uri must be an absolute URL of at most 2000 characters'],
    ['/jwks.json', false, 'jwks_uri must be an absolute URL of at most 2000 characters'],
    [`https://app.example/${'a'.repeat(2000)}`, false, 'jwks_uri must be an absolute URL of at most 2000 characters'],
    ['http://app.example/jwks', false, 'jwks_uri must use https'],
    ['http://localhost/jwks', false, 'jwks_uri must use https'],
    [
      'http://app.example/jwks',
      true,
      'jwks_uri must use https (http only on localhost or a loopback address, with a development issuer)',
    ],
    ['https://app.example/jwks#x', false, 'jwks_uri must not contain a fragment'],
    ['https://me:pw@app.example/jwks', false, 'jwks_uri must not contain a username or password'],
  ];
  for (const [uri, dev, problem] of rows) t.equal(jwksUriProblem(uri, dev), problem, String(uri));
});
