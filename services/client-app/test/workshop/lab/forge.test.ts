import t from 'tap';
import { decodeJwt } from '../../../src/workshop/inspector/present.js';
import { algNone, editedPayload, newState, newVerifier, s256 } from '../../../src/workshop/lab/forge.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const token = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })}.${b64({ sub: 'alice', scope: 'photos:read' })}.c2ln`;

t.test('PKCE values have the RFC 7636 §4.1-4.2 shape', async (t) => {
  const verifier = newVerifier();
  t.match(verifier, /^[A-Za-z0-9_-]{43}$/, '43 characters of the unreserved alphabet');
  t.not(newVerifier(), verifier, 'fresh every time');
  t.match(s256(verifier), /^[A-Za-z0-9_-]{43}$/);
  t.equal(s256('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0', 'BASE64URL(SHA-256(ASCII(verifier)))');
  t.match(newState(), /^[A-Za-z0-9_-]{22}$/);
});

t.test('alg none: the header says none, the signature is gone, the claims are untouched', async (t) => {
  const forged = algNone(token);
  t.ok(forged.endsWith('.'), 'empty signature');
  t.same(decodeJwt(forged), { header: { alg: 'none', typ: 'at+jwt' }, claims: { sub: 'alice', scope: 'photos:read' } });
});

t.test('edited payload: scope widened, header and signature kept', async (t) => {
  const forged = editedPayload(token);
  const [header, , signature] = forged.split('.');
  t.equal(header, token.split('.')[0]);
  t.equal(signature, 'c2ln');
  t.equal(decodeJwt(forged)?.claims.scope, 'photos:read photos:write documents:read documents:write');
  t.equal(decodeJwt(forged)?.claims.sub, 'alice');
});
