// Each RFC 9449 §4.3 check of verifyDpopProof, with real proofs signed by jose: one good proof, then one test
// per way a proof is refused, each checking the exact error.
import t, { type Test } from 'tap';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import {
  DpopProofError,
  InMemoryKeyValueStore,
  StoreFullError,
  accessTokenHash,
  jwkThumbprint,
  normalizeHtu,
  replayGuardFrom,
  verifyDpopProof,
  type DpopCheckOptions,
} from '../src/index.js';

const URL_ = 'https://as.example/token';
const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = await exportJWK(publicKey);

interface ProofOptions {
  alg?: string;
  typ?: string;
  key?: CryptoKey;
  headerJwk?: JWK;
}

function proof(claims: JWTPayload = {}, o: ProofOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: crypto.randomUUID(), htm: 'POST', htu: URL_, iat: now, ...claims })
    .setProtectedHeader({ alg: o.alg ?? 'ES256', typ: o.typ ?? 'dpop+jwt', jwk: o.headerJwk ?? jwk })
    .sign(o.key ?? privateKey);
}

function options(extra: Partial<DpopCheckOptions> = {}): DpopCheckOptions {
  const kv = new InMemoryKeyValueStore();
  t.teardown(() => kv.close());
  return { method: 'POST', url: URL_, replay: replayGuardFrom(kv, { name: 'dpop', maxEntries: 100 }), ...extra };
}

async function refused(t: Test, header: string | string[] | undefined, opts: DpopCheckOptions, message: RegExp) {
  const err = await verifyDpopProof(header, opts).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(err, DpopProofError);
  t.match(err, { error: 'invalid_dpop_proof', description: message });
}

t.test('a good proof gives its key thumbprint (RFC 7638) and claims', async (t) => {
  const checked = await verifyDpopProof(await proof(), options());
  t.equal(checked.jkt, await jwkThumbprint(jwk));
  t.match(checked, { htm: 'POST', htu: URL_, jwk: { kty: 'EC', crv: 'P-256' } });
  t.notOk('d' in checked.jwk, 'the public key only');
});

t.test('every allowed algorithm verifies, EdDSA also under its RFC 9864 name Ed25519', async (t) => {
  for (const [alg, keyAlg] of [
    ['ES256', 'ES256'],
    ['ES384', 'ES384'],
    ['PS256', 'PS256'],
    ['PS384', 'PS384'],
    ['EdDSA', 'Ed25519'],
    ['Ed25519', 'Ed25519'],
  ] as const) {
    const pair = await generateKeyPair(keyAlg, { extractable: true });
    const header = await proof({}, { alg, key: pair.privateKey, headerJwk: await exportJWK(pair.publicKey) });
    await t.resolves(verifyDpopProof(header, options()), alg);
  }
});

t.test('htu is compared without query and fragment, after URL normalisation (§4.3 step 9)', async (t) => {
  t.equal(normalizeHtu('HTTPS://AS.example:443/token?x=1#f'), 'https://as.example/token');
  await t.resolves(verifyDpopProof(await proof({ htu: 'https://AS.EXAMPLE:443/token?a=b#frag' }), options()));
  t.throws(() => normalizeHtu('urn:x:y'), TypeError);
});

t.test('step 1: exactly one DPoP header', async (t) => {
  const p = await proof();
  await refused(t, [p, p], options(), /exactly one DPoP header/);
  await refused(t, `${p}, ${p}`, options(), /exactly one DPoP proof/);
  await refused(t, '', options(), /empty/);
  await refused(t, undefined, options(), /empty/);
});

t.test('steps 2–7: a JWS, typ dpop+jwt, an allowed asymmetric alg, a valid signature, a public jwk', async (t) => {
  await refused(t, 'not.a.jwt', options(), /not valid/);
  await refused(t, await proof({}, { typ: 'JWT' }), options(), /typ "dpop\+jwt"/);
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const rsaJwk = await exportJWK(rsa.publicKey);
  await refused(
    t,
    await proof({}, { alg: 'RS256', key: rsa.privateKey, headerJwk: rsaJwk }),
    options(),
    /algorithm not allowed/,
  );
  const hmac = await new SignJWT({ jti: 'x', htm: 'POST', htu: URL_, iat: Math.floor(Date.now() / 1000) })
    .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } as never })
    .sign(new TextEncoder().encode('secret-secret-secret-secret-secret'));
  await refused(t, hmac, options(), /algorithm not allowed/);
  const other = await generateKeyPair('ES256');
  await refused(t, await proof({}, { key: other.privateKey }), options(), /signature is invalid/);
  const privateJwk = await exportJWK(privateKey);
  await refused(t, await proof({}, { headerJwk: privateJwk }), options(), /not valid/);
});

t.test('required claims (§4.2)', async (t) => {
  await refused(t, await proof({ jti: undefined }), options(), /jti/);
  await refused(t, await proof({ jti: 'x'.repeat(257) }), options(), /jti/);
  await refused(t, await proof({ htm: undefined }), options(), /htm claim/);
  await refused(t, await proof({ htu: undefined }), options(), /htu claim/);
  await refused(t, await proof({ iat: undefined }), options(), /iat/);
});

t.test('steps 8–9: htm and htu must match the request', async (t) => {
  await refused(t, await proof({ htm: 'GET' }), options(), /htm must be POST/);
  await refused(t, await proof({ htu: 'https://as.example/other' }), options(), /htu does not match/);
  await refused(t, await proof({ htu: 'http://as.example/token' }), options(), /htu does not match/);
  await refused(t, await proof({ htu: 'ftp://as.example/token' }), options(), /not an http\(s\) URL/);
});

t.test('step 11: iat within the window', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  await refused(t, await proof({ iat: now - 61 }), options(), /too old/);
  await refused(t, await proof({ iat: now + 30 }), options(), /future/);
  await t.resolves(verifyDpopProof(await proof({ iat: now - 100 }), options({ maxAgeSeconds: 120 })));
});

t.test('step 12: ath binds the proof to the access token, and the key must be the bound one', async (t) => {
  const token = 'eyJ.access.token';
  await refused(t, await proof(), options({ accessToken: token }), /must carry ath/);
  await refused(
    t,
    await proof({ ath: accessTokenHash('other') }),
    options({ accessToken: token }),
    /ath does not match/,
  );
  await t.resolves(verifyDpopProof(await proof({ ath: accessTokenHash(token) }), options({ accessToken: token })));
  await refused(t, await proof(), options({ expectedJkt: 'not-the-thumbprint' }), /key other than/);
});

t.test('§8: a server nonce, when wanted, answers use_dpop_nonce', async (t) => {
  const opts = options({ nonce: async (n) => n === 'fresh' });
  const err = await verifyDpopProof(await proof(), opts).catch((e: unknown) => e);
  t.match(err, { error: 'use_dpop_nonce' });
  await t.resolves(verifyDpopProof(await proof({ nonce: 'fresh' }), opts));
  await refused(t, await proof({ nonce: 7 }), opts, /nonce must be a string/);
});

t.test('§11.1: a proof is single use, and a refused proof takes no place in the guard', async (t) => {
  const opts = options();
  const p = await proof();
  await verifyDpopProof(p, opts);
  await refused(t, p, opts, /already used/);
  const concurrent = await proof();
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => verifyDpopProof(concurrent, opts)));
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'of ten concurrent uses one passes');

  const kv = new InMemoryKeyValueStore();
  t.teardown(() => kv.close());
  const small = { ...opts, replay: replayGuardFrom(kv, { name: 'small', maxEntries: 1 }) };
  await refused(t, await proof({ htm: 'GET' }), small, /htm/);
  await verifyDpopProof(await proof(), small);
  await t.rejects(verifyDpopProof(await proof(), small), StoreFullError, 'a full guard is 503, not a pass');
});
