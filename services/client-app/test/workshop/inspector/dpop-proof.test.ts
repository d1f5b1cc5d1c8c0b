// The inspector's view of a DPoP proof (RFC 9449 §4.2): protected header and payload decoded, the key's
// RFC 7638 thumbprint (jose, via @quartet/common) beside the access token's cnf.jkt, and whether they match.
import t from 'tap';
import * as oauth from 'oauth4webapi';
import { dpopHandle, generateDpopKey, proofThumbprint, publicDpopJwk } from '../../../src/oauth/dpop.js';
import { dpopProofSections } from '../../../src/workshop/inspector/present.js';
import type { Section } from '../../../src/workshop/inspector/store.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (header: object, claims: object) => `${b64(header)}.${b64(claims)}.c2lnbmF0dXJl`;
const rowOf = (sections: Section[], heading: string, name: string) =>
  sections.find((s) => s.heading === heading)?.rows?.find((r) => r.name === name);

t.test('the proof is decoded and its key thumbprint set beside cnf.jkt', async (t) => {
  const key = await generateDpopKey();
  t.ok(key.d, 'the stored JWK is the private key (kept server-side)');
  const jwk = publicDpopJwk(key);
  t.notOk('d' in jwk, 'the public half has no d');
  const proof = jwt(
    { typ: 'dpop+jwt', alg: 'ES256', jwk },
    { jti: 'j1', htm: 'GET', htu: 'https://rs/photos', iat: 1, ath: 'h' },
  );
  const jkt = await proofThumbprint(proof);
  // oauth4webapi computes RFC 7638 independently: both must agree.
  const handle = await dpopHandle({ client_id: 'c' } as oauth.Client, key);
  t.equal(jkt, await handle.calculateThumbprint(), 'jose and oauth4webapi agree on the thumbprint');

  const bound = jwt({ typ: 'at+jwt', alg: 'ES256' }, { cnf: { jkt } });
  const sections = dpopProofSections(proof, jkt, bound);
  t.equal(rowOf(sections, 'DPoP proof: protected header', 'typ')?.value, 'dpop+jwt');
  t.match(rowOf(sections, 'DPoP proof: protected header', 'jwk')?.value, /"kty":"EC"/);
  t.equal(rowOf(sections, 'DPoP proof: payload', 'htu')?.value, 'https://rs/photos');
  t.ok(rowOf(sections, 'DPoP proof: payload', 'ath')?.note, 'each claim explained');
  t.equal(rowOf(sections, 'Key binding', 'key thumbprint')?.value, jkt);
  t.equal(rowOf(sections, 'Key binding', 'access token cnf.jkt')?.value, jkt);
  t.match(rowOf(sections, 'Key binding', 'access token cnf.jkt')?.note, /^match/);

  const other = jwt({ typ: 'at+jwt', alg: 'ES256' }, { cnf: { jkt: 'someone-else' } });
  t.match(rowOf(dpopProofSections(proof, jkt, other), 'Key binding', 'access token cnf.jkt')?.note, /MISMATCH/);
  const bearer = jwt({ typ: 'at+jwt', alg: 'ES256' }, { sub: 'alice' });
  t.match(rowOf(dpopProofSections(proof, jkt, bearer), 'Key binding', 'access token cnf.jkt')?.value, /none/);
  const tokenEndpoint = dpopProofSections(proof, jkt);
  t.equal(rowOf(tokenEndpoint, 'Key binding', 'access token cnf.jkt'), undefined, 'no token yet at the token endpoint');
  t.equal(await proofThumbprint('not-a-jwt'), undefined);
});
