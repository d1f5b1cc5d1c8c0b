// RFC 6750 §2–3 / RFC 9068 §4 / RFC 8725 at the HTTP level: each bad request gets its exact status, error
// code and WWW-Authenticate challenge, which always names our RFC 9728 metadata (§5.1). Also: a
// client_credentials token (sub === client_id, RFC 9068 §2.2) is refused on every per-user route.
import t from 'tap';
import { SignJWT, exportSPKI, importJWK, type CryptoKey } from 'jose';
import { CLIENT_TOKEN_DESCRIPTION } from '../../src/plugins/token-verifier.js';
import { ALICE, ALL_SCOPES, RESOURCE_ID, b64url, bearer, createSigningKey, setup } from '../helper.js';

type Test = Pick<typeof t, 'equal' | 'same'>;
const REALM = 'realm="quartet-resource-server"';
// RFC 9728 §3.1 / §5.1: RESOURCE_ID (http://localhost:9100) with the well-known path inserted.
const METADATA = 'resource_metadata="http://localhost:9100/.well-known/oauth-protected-resource"';
const ctx = await setup(t);
const { app, as } = ctx;

// RFC 9449 §7.2: both accepted schemes are challenged; the error sits in the Bearer one, DPoP stays bare.
const DPOP_BARE = `DPoP ${REALM}, algs="ES256 ES384 EdDSA Ed25519 PS256 PS384", ${METADATA}`;
const BARE = `Bearer ${REALM}, ${METADATA}, ${DPOP_BARE}`;

function challenge(error: string, description: string, extra = ''): string {
  return `Bearer ${REALM}, error="${error}", error_description="${description}"${extra}, ${METADATA}, ${DPOP_BARE}`;
}

async function expectInvalidToken(t: Test, token: string, description: string) {
  const res = await app.inject({ method: 'GET', url: '/photos', headers: bearer(token) });
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], challenge('invalid_token', description));
  t.same(res.json(), { error: 'invalid_token', error_description: description });
  t.equal(res.headers['cache-control'], 'no-store');
}

t.test('a valid token is accepted', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/photos', headers: bearer(await as.token()) });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { photos: [] });
  t.equal(res.headers['cache-control'], 'no-store');
});

t.test('typ application/at+jwt is the same media type as at+jwt (RFC 9068 §2.1)', async (t) => {
  const res = await app.inject({
    method: 'GET',
    url: '/photos',
    headers: bearer(await as.token({ header: { typ: 'application/at+jwt' } })),
  });
  t.equal(res.statusCode, 200);
});

t.test('aud may be an array that includes our identifier', async (t) => {
  const token = await as.token({ claims: { aud: ['https://other.example', RESOURCE_ID] } });
  t.equal((await app.inject({ method: 'GET', url: '/photos', headers: bearer(token) })).statusCode, 200);
});

t.test('no credentials: 401 with a bare challenge and no error code (RFC 6750 §3.1)', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/photos' });
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], BARE);
  t.notMatch(res.headers['www-authenticate'] as string, /error=/);
  t.same(res.json(), {
    error: 'unauthorized',
    error_description: 'This resource requires a Bearer or DPoP access token.',
  });
  t.equal(res.headers['cache-control'], 'no-store');
});

t.test('another authentication scheme counts as no Bearer credentials (RFC 6750 §3.1)', async (t) => {
  const res = await app.inject({
    method: 'GET',
    url: '/photos',
    headers: { authorization: 'Basic YWxpY2U6d29uZGVybGFuZA==' },
  });
  t.equal(res.statusCode, 401);
  t.equal(res.headers['www-authenticate'], BARE);
});

t.test('malformed Authorization header: 400 invalid_request (RFC 6750 §3.1)', async (t) => {
  const description = 'The Authorization header must be Bearer followed by one access token.';
  const expected = challenge('invalid_request', description);
  for (const authorization of ['Bearer', 'Bearer two tokens', 'Bearer tok"en', 'Bearer ab=cd']) {
    const res = await app.inject({ method: 'GET', url: '/photos', headers: { authorization } });
    t.equal(res.statusCode, 400, authorization);
    t.equal(res.headers['www-authenticate'], expected);
    t.same(res.json(), { error: 'invalid_request', error_description: description });
  }
});

t.test('the scheme name is case-insensitive', async (t) => {
  const res = await app.inject({
    method: 'GET',
    url: '/photos',
    headers: { authorization: `bEaReR ${await as.token()}` },
  });
  t.equal(res.statusCode, 200);
});

t.test('token in the query string: 400 invalid_request (RFC 6750 §2.3, RFC 9700 §2.3)', async (t) => {
  const token = await as.token();
  const res = await app.inject({ method: 'GET', url: `/photos?access_token=${token}` });
  t.equal(res.statusCode, 400);
  const description = 'Access tokens in the query string are not accepted; use the Authorization header.';
  t.equal(res.headers['www-authenticate'], challenge('invalid_request', description));
  t.same(res.json(), { error: 'invalid_request', error_description: description });
});

t.test('token sent by two methods: 400 invalid_request (RFC 6750 §2)', async (t) => {
  const token = await as.token();
  const res = await app.inject({ method: 'GET', url: `/photos?access_token=${token}`, headers: bearer(token) });
  t.equal(res.statusCode, 400);
  const description = 'The access token must be sent by exactly one method.';
  t.equal(res.headers['www-authenticate'], challenge('invalid_request', description));
  t.same(res.json(), { error: 'invalid_request', error_description: description });
});

t.test('expired token: 401 invalid_token', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  await expectInvalidToken(
    t,
    await as.token({ claims: { iat: now - 600, exp: now - 60 } }),
    'The access token expired.',
  );
});

t.test('expiry within CLOCK_TOLERANCE is accepted, beyond it is not', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const res = await app.inject({
    method: 'GET',
    url: '/photos',
    headers: bearer(await as.token({ claims: { exp: now - 2 } })),
  });
  t.equal(res.statusCode, 200, 'expired 2 s ago, tolerance 5 s');
  await expectInvalidToken(t, await as.token({ claims: { exp: now - 10 } }), 'The access token expired.');
});

t.test('token not yet valid (nbf): 401 invalid_token', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  await expectInvalidToken(t, await as.token({ claims: { nbf: now + 120 } }), 'The access token is not valid yet.');
});

t.test('wrong audience: 401 invalid_token (RFC 9068 §4)', async (t) => {
  await expectInvalidToken(
    t,
    await as.token({ claims: { aud: 'https://other-api.example' } }),
    'The access token is not meant for this resource server.',
  );
});

t.test('wrong issuer: 401 invalid_token (RFC 9068 §4)', async (t) => {
  await expectInvalidToken(
    t,
    await as.token({ claims: { iss: 'https://evil.example' } }),
    'The access token was not issued by the trusted authorization server.',
  );
});

t.test('alg none: 401 invalid_token, keys never consulted (RFC 8725 §3.1)', async (t) => {
  const before = as.jwksRequests + as.metadataRequests;
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'none', typ: 'at+jwt', kid: as.current.kid };
  const payload = {
    iss: as.issuer,
    sub: ALICE,
    aud: RESOURCE_ID,
    client_id: 'demo-client',
    scope: 'photos:read',
    jti: 'x',
    iat: now,
    exp: now + 60,
  };
  await expectInvalidToken(
    t,
    `${b64url(header)}.${b64url(payload)}.`,
    'The access token is signed with an algorithm that is not accepted (only ES256).',
  );
  t.equal(as.jwksRequests + as.metadataRequests, before);
});

t.test('HS256 signed with the public key as the HMAC secret: 401 invalid_token (RFC 8725 §2.1, §3.1)', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const publicJwkJson = new TextEncoder().encode(JSON.stringify(as.current.publicJwk));
  const spki = new TextEncoder().encode(
    await exportSPKI((await importJWK(as.current.publicJwk, 'ES256')) as CryptoKey),
  );
  for (const secret of [publicJwkJson, spki]) {
    const token = await new SignJWT({
      sub: ALICE,
      aud: RESOURCE_ID,
      iss: as.issuer,
      client_id: 'demo-client',
      scope: 'photos:read',
      jti: 'x',
      iat: now,
      exp: now + 60,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: as.current.kid })
      .sign(secret);
    await expectInvalidToken(
      t,
      token,
      'The access token is signed with an algorithm that is not accepted (only ES256).',
    );
  }
});

t.test('tampered payload: 401 invalid_token', async (t) => {
  const [h, , s] = (await as.token({ claims: { scope: 'photos:read' } })).split('.');
  const forged = (await as.token({ claims: { scope: 'photos:read photos:write' } })).split('.')[1];
  await expectInvalidToken(t, `${h}.${forged}.${s}`, 'The access token signature is invalid.');
});

t.test('signature by a key the AS does not publish (same kid): 401 invalid_token', async (t) => {
  const impostor = await createSigningKey(as.current.kid);
  await expectInvalidToken(t, await as.token({ key: impostor }), 'The access token signature is invalid.');
});

t.test('typ JWT or no typ: 401 invalid_token (RFC 9068 §4, RFC 8725 §3.11)', async (t) => {
  const description = 'The token is not an access token (its typ header must be at+jwt).';
  await expectInvalidToken(t, await as.token({ header: { typ: 'JWT' } }), description);
  await expectInvalidToken(t, await as.token({ header: { typ: undefined } }), description);
});

t.test('missing required claims: 401 invalid_token (RFC 9068 §2.2)', async (t) => {
  for (const claim of ['sub', 'client_id', 'scope', 'jti', 'iat', 'exp']) {
    await expectInvalidToken(
      t,
      await as.token({ claims: { [claim]: undefined } }),
      `The access token lacks the ${claim} claim.`,
    );
  }
});

t.test('claims of the wrong type: 401 invalid_token', async (t) => {
  await expectInvalidToken(
    t,
    await as.token({ claims: { client_id: 42 } }),
    'The access token has an invalid client_id claim.',
  );
  await expectInvalidToken(
    t,
    await as.token({ claims: { scope: ['photos:read'] } }),
    'The access token has an invalid scope claim.',
  );
  await expectInvalidToken(t, await as.token({ claims: { sub: 7 } }), 'The access token has an invalid sub claim.');
  await expectInvalidToken(t, await as.token({ claims: { jti: '' } }), 'The access token has an invalid jti claim.');
  await expectInvalidToken(
    t,
    await as.token({ claims: { iat: 'yesterday' } }),
    'The access token has an invalid iat claim.',
  );
});

t.test('garbage tokens: 401 invalid_token', async (t) => {
  await expectInvalidToken(t, 'not-a-jwt', 'The access token is malformed.');
  await expectInvalidToken(
    t,
    `${b64url({ alg: 'ES256', typ: 'at+jwt' })}.${b64url('not json')}.c2ln`,
    'The access token signature is invalid.',
  );
});

t.test('missing scope: 403 insufficient_scope naming the scope needed (RFC 6750 §3.1)', async (t) => {
  const token = await as.token({ claims: { scope: 'documents:read' } });
  const res = await app.inject({ method: 'GET', url: '/photos', headers: bearer(token) });
  t.equal(res.statusCode, 403);
  const description = 'This request requires the photos:read scope.';
  t.equal(res.headers['www-authenticate'], challenge('insufficient_scope', description, ', scope="photos:read"'));
  t.same(res.json(), { error: 'insufficient_scope', error_description: description });

  const write = await app.inject({
    method: 'DELETE',
    url: `/documents/${ALICE}`,
    headers: bearer(await as.token({ claims: { scope: 'documents:read' } })),
  });
  t.equal(write.statusCode, 403);
  t.equal(
    write.headers['www-authenticate'],
    challenge('insufficient_scope', 'This request requires the documents:write scope.', ', scope="documents:write"'),
  );
});

t.test('authentication happens before the body is validated', async (t) => {
  const res = await app.inject({ method: 'POST', url: '/documents', payload: { nonsense: true } });
  t.equal(res.statusCode, 401);
  const scoped = await app.inject({
    method: 'POST',
    url: '/documents',
    headers: bearer(await as.token({ claims: { scope: 'documents:read' } })),
    payload: {},
  });
  t.equal(scoped.statusCode, 403);
});

t.test('client_credentials token (sub === client_id): 403 insufficient_scope on every per-user route', async (t) => {
  // RFC 9068 §2.2: a token the client obtained for itself has its own client_id as sub. Every scope, so the
  // refusal cannot be a scope check in disguise.
  const clientToken = bearer(
    await as.token({ claims: { sub: 'demo-client', client_id: 'demo-client', scope: ALL_SCOPES } }),
  );
  const id = '00000000-0000-4000-8000-000000000000';
  const calls = [
    { method: 'GET', url: '/photos' },
    { method: 'GET', url: `/photos/${id}` },
    { method: 'GET', url: `/photos/${id}/image` },
    { method: 'POST', url: '/photos', payload: { title: 'x', contentType: 'image/png', data: 'AAAA' } },
    { method: 'DELETE', url: `/photos/${id}` },
    { method: 'GET', url: '/documents' },
    { method: 'GET', url: `/documents/${id}` },
    { method: 'POST', url: '/documents', payload: { title: 'x', content: 'y' } },
    { method: 'DELETE', url: `/documents/${id}` },
  ] as const;
  for (const call of calls) {
    const res = await app.inject({ ...call, headers: clientToken });
    const what = `${call.method} ${call.url}`;
    t.equal(res.statusCode, 403, what);
    // No scope= parameter: no scope would make this token act for a person.
    t.equal(res.headers['www-authenticate'], challenge('insufficient_scope', CLIENT_TOKEN_DESCRIPTION), what);
    t.same(res.json(), { error: 'insufficient_scope', error_description: CLIENT_TOKEN_DESCRIPTION }, what);
    t.equal(res.headers['cache-control'], 'no-store', what);
  }
  t.equal(
    CLIENT_TOKEN_DESCRIPTION,
    "This API serves a person's own photos and documents; a token issued to a client for itself (client_credentials) has no person behind it.",
  );
});

t.test('client_credentials token: refused before the scope check and before the body is parsed', async (t) => {
  const noScope = await as.token({
    claims: { sub: 'workshop-cli', client_id: 'workshop-cli', scope: 'documents:read' },
  });
  const res = await app.inject({
    method: 'POST',
    url: '/photos',
    headers: bearer(noScope),
    payload: { nonsense: true },
  });
  t.equal(res.statusCode, 403);
  t.same(res.json(), { error: 'insufficient_scope', error_description: CLIENT_TOKEN_DESCRIPTION });
  t.notMatch(res.headers['www-authenticate'] as string, /, scope="/, 'no scope to ask for');
});

t.test('a user token of the same client is still served (sub is the user, not the client)', async (t) => {
  const res = await app.inject({
    method: 'GET',
    url: '/documents',
    headers: bearer(await as.token({ claims: { sub: ALICE, client_id: 'demo-client' } })),
  });
  t.equal(res.statusCode, 200);
});
