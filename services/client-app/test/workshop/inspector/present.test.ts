import { createHash } from 'node:crypto';
import t from 'tap';
import {
  accessTokenSections,
  authorizationRequestSections,
  decodeJwt,
  formRequestSections,
  jsonResponseSections,
  maskedBasic,
  shorten,
} from '../../../src/workshop/inspector/present.js';

const jwt = (header: object, claims: object) =>
  `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2lnbmF0dXJl`;

t.test('display helpers: tokens shortened, the secret never shown, the PKCE computation spelled out', async (t) => {
  t.equal(shorten('abcdefghijklmnop'), 'abcdefgh…');
  t.equal(maskedBasic('demo-client'), 'Basic base64(demo-client:••••••••)');

  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL(
    `http://as.test/authorize?response_type=code&client_id=demo-client&code_challenge=${challenge}&code_challenge_method=S256&x=1`,
  );
  const sections = authorizationRequestSections(url, verifier);
  const pkce = sections.find((s) => s.heading.startsWith('PKCE'))!;
  t.match(pkce.text, verifier);
  t.match(pkce.text, challenge);
  t.match(pkce.text, createHash('sha256').update(verifier).digest('hex'));
  const params = sections.find((s) => s.heading === 'Parameters')!.rows!;
  t.match(params.find((r) => r.name === 'code_challenge')!.note, /SHA-256/);
  t.equal(params.find((r) => r.name === 'x')!.note, undefined, 'unknown parameters have no explanation');
  t.equal(authorizationRequestSections(url, undefined).length, 2, 'no PKCE section without a verifier');

  const request = formRequestSections(
    'http://as.test/oauth/token',
    'demo-client',
    { grant_type: 'authorization_code', code: 'CODE-1234567890', code_verifier: verifier },
    'tp',
  );
  const text = JSON.stringify(request);
  t.notMatch(text, 'CODE-1234567890');
  t.match(text, 'CODE-123…');
  t.match(text, verifier, "the verifier is shown (the client's own secret, to its own user)");
  t.match(text, '••••••••');

  // private_key_jwt (CLIENT_PRIVATE_KEY): no Authorization header, the assertion's type and what it says in the body.
  const withKey = formRequestSections(
    'http://as.test/oauth/token',
    'demo-client',
    { grant_type: 'refresh_token' },
    'tp',
    {
      alg: 'ES256',
      kid: 'app-1',
    },
  );
  const rows = withKey.flatMap((s) => s.rows ?? []);
  t.match(
    rows.find((r) => r.name === 'Authorization'),
    { value: '(none)', note: /^private_key_jwt \(RFC 7523 §2\.2\)/ },
  );
  t.equal(
    rows.find((r) => r.name === 'client_assertion_type')?.value,
    'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  );
  t.match(
    rows.find((r) => r.name === 'client_assertion')?.value,
    /^a JWT \(ES256, kid app-1\) with iss and sub demo-client/,
  );
  t.notMatch(JSON.stringify(withKey), '••••••••', 'no Basic credentials');

  const response = JSON.stringify(
    jsonResponseSections(200, {
      access_token: 'eyJhbGciOiJFUzI1NiJ9.payload.sig',
      refresh_token: 'refresh-token-value',
      expires_in: 300,
    }),
  );
  t.notMatch(response, 'refresh-token-value');
  t.notMatch(response, 'payload.sig');
  t.match(response, 'refresh-…');
  t.match(response, '"value":"300"');
  t.same(jsonResponseSections(200, null)[0]!.rows, [{ name: 'status', value: '200' }]);
});

t.test('access tokens are decoded for display with every claim explained', async (t) => {
  const token = jwt(
    { typ: 'at+jwt', alg: 'ES256', kid: 'k1' },
    {
      iss: 'http://as',
      sub: 'u',
      aud: 'http://rs',
      scope: 'photos:read',
      exp: 2_000_000_000,
      iat: 1_999_999_700,
      custom: 1,
    },
  );
  const decoded = decodeJwt(token)!;
  t.equal(decoded.header.kid, 'k1');
  const [header, claims] = accessTokenSections(decoded);
  t.match(header!.rows!.find((r) => r.name === 'alg')!.note, /allow-list/);
  t.match(claims!.rows!.find((r) => r.name === 'aud')!.note, /Audience/);
  t.match(claims!.rows!.find((r) => r.name === 'exp')!.value, /2033-05-18T/);
  t.equal(claims!.rows!.find((r) => r.name === 'custom')!.note, undefined);
  t.equal(decodeJwt('not-a-jwt'), null);
  t.equal(decodeJwt('a.b.c'), null, 'undecodable parts');
  t.equal(
    decodeJwt(`${Buffer.from('1').toString('base64url')}.${Buffer.from('2').toString('base64url')}.x`),
    null,
    'not objects',
  );
});
