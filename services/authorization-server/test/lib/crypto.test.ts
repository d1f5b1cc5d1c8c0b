// Passwords, client secrets, PKCE and key encryption helpers.
import t from 'tap';
import { hashPassword, unmatchableHash, verifyPassword } from '../../src/lib/passwords.js';
import { clientSecretMatches, generateClientSecret, hashClientSecret } from '../../src/lib/client-secrets.js';
import { CODE_VERIFIER_PATTERN, s256, verifierMatches } from '../../src/lib/pkce.js';
import { decryptPrivateKey, encryptPrivateKey } from '../../src/lib/key-encryption.js';
import { parseScope, covers } from '../../src/lib/scopes.js';

t.test('scrypt hashes carry their parameters and a per-user salt', async (t) => {
  const a = await hashPassword('secret', 1024);
  const b = await hashPassword('secret', 1024);
  t.not(a, b, 'different salts');
  t.ok(await verifyPassword('secret', a));
  t.notOk(await verifyPassword('Secret', a));
  t.notOk(await verifyPassword('secret', 'garbage'));
  t.notOk(await verifyPassword('secret', 'scrypt$0$8$1$abc$def'));
});

t.test('the default scrypt cost is accepted by node (maxmem)', async (t) => {
  t.match(await hashPassword('secret', 32768), /^scrypt\$32768\$8\$3\$[\w-]{22}\$[\w-]{43}$/);
});

t.test('the decoy for unknown usernames has the parameters of a real hash and matches nothing', async (t) => {
  const real = await hashPassword('secret', 1024);
  const decoy = unmatchableHash(1024);
  // Same parameter prefix as a real hash, so verifyPassword runs scrypt at the same cost for both.
  t.equal(decoy.split('$').slice(0, 4).join('$'), real.split('$').slice(0, 4).join('$'));
  t.match(decoy, /^scrypt\$1024\$8\$3\$[\w-]{22}\$[\w-]{43}$/);
  t.not(unmatchableHash(1024), decoy, 'random salt and key each time');
  for (const guess of ['', 'secret', decoy])
    t.notOk(await verifyPassword(guess, decoy), `"${guess.slice(0, 10)}" does not match`);
});

t.test('client secrets: SHA-256 hex, constant-time comparison', async (t) => {
  const secret = generateClientSecret();
  t.equal(secret.length, 43);
  const hash = hashClientSecret(secret);
  t.match(hash, /^[0-9a-f]{64}$/);
  t.ok(clientSecretMatches(secret, hash));
  t.notOk(clientSecretMatches('wrong', hash));
  t.notOk(clientSecretMatches(secret, null), 'a public client never matches');
  t.notOk(clientSecretMatches(secret, 'abcd'), 'a malformed hash never matches');
});

t.test('PKCE S256 (RFC 7636 appendix B test vector)', async (t) => {
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  t.equal(s256(verifier), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  t.ok(verifierMatches(verifier, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'));
  t.notOk(verifierMatches(verifier, 'short'));
  t.ok(CODE_VERIFIER_PATTERN.test('a'.repeat(128)));
  t.notOk(CODE_VERIFIER_PATTERN.test('a'.repeat(42)));
});

t.test('private keys: AES-256-GCM bound to the key id', async (t) => {
  const enc = encryptPrivateKey('{"d":"x"}', 'the-secret-value', 'kid-1');
  t.equal(decryptPrivateKey(enc, 'the-secret-value', 'kid-1'), '{"d":"x"}');
  t.throws(() => decryptPrivateKey(enc, 'another-secret', 'kid-1'), /KEY_ENCRYPTION_SECRET/);
  t.throws(() => decryptPrivateKey(enc, 'the-secret-value', 'kid-2'), /cannot be decrypted/);
  t.throws(() => decryptPrivateKey('nonsense', 'the-secret-value', 'kid-1'), /malformed/);
});

t.test('scope parsing and coverage', async (t) => {
  t.same(parseScope('a b a'), ['a', 'b']);
  t.equal(parseScope('a "b'), null);
  t.ok(covers(['a', 'b'], ['a']));
  t.notOk(covers(['a'], ['a', 'b']));
});
