// POST /oauth/token: client authentication, grant checks and the RFC 6749 §5.1/§5.2 responses.
import t, { type Test } from 'tap';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { buildTestApp } from '../helper.js';
import { ALICE_ID, CLI_REDIRECT, DEMO_REDIRECT, obtainCode, tokenRequest } from '../browser.js';

const { app, config } = await buildTestApp(t);
const DEMO: [string, string] = ['demo-client', config.DEMO_CLIENT_SECRET];

async function demoCode(params = {}) {
  return obtainCode(app, { params });
}

function codeForm(code: string, verifier: string, extra: Record<string, string> = {}) {
  return { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT, ...extra };
}

function expectError(t: Test, res: Awaited<ReturnType<typeof tokenRequest>>, status: number, error: string) {
  t.equal(res.statusCode, status, `status ${status}`);
  t.equal(res.json().error, error);
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers.pragma, 'no-cache');
}

t.test('client_secret_basic: a valid code gives an RFC 9068 access token (RFC 6749 §5.1)', async (t) => {
  const { code, verifier } = await demoCode();
  const res = await tokenRequest(app, codeForm(code, verifier), { basic: DEMO });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers.pragma, 'no-cache');
  const body = res.json();
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
  t.match(body.refresh_token, /^[A-Za-z0-9_-]{43}$/, '256-bit opaque refresh token');
  t.equal(body.token_type, 'Bearer');
  t.equal(body.expires_in, config.ACCESS_TOKEN_TTL);
  t.equal(body.scope, 'photos:read documents:read');

  const jwks = createLocalJWKSet((await app.inject({ url: '/.well-known/jwks.json' })).json());
  const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, {
    issuer: config.ISSUER,
    audience: config.RESOURCE_AUDIENCE,
    typ: 'at+jwt',
    algorithms: ['ES256'],
  });
  t.equal(protectedHeader.typ, 'at+jwt');
  t.ok(protectedHeader.kid);
  t.equal(payload.sub, ALICE_ID);
  t.equal(payload.client_id, 'demo-client');
  t.equal(payload.scope, 'photos:read documents:read');
  t.ok(payload.jti);
  t.equal((payload.exp ?? 0) - (payload.iat ?? 0), config.ACCESS_TOKEN_TTL);
});

t.test('a charset parameter on the form media type is fine', async (t) => {
  const { code, verifier } = await demoCode();
  const res = await tokenRequest(app, codeForm(code, verifier), {
    basic: DEMO,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
  });
  t.equal(res.statusCode, 200);
});

t.test('client_secret_post works too', async (t) => {
  const { code, verifier } = await demoCode();
  const res = await tokenRequest(
    app,
    codeForm(code, verifier, { client_id: 'demo-client', client_secret: config.DEMO_CLIENT_SECRET }),
  );
  t.equal(res.statusCode, 200);
});

t.test('public client with none: client_id and no secret', async (t) => {
  const { code, verifier } = await demoCode({ client_id: 'workshop-cli', redirect_uri: CLI_REDIRECT });
  const res = await tokenRequest(app, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: CLI_REDIRECT,
    client_id: 'workshop-cli',
  });
  t.equal(res.statusCode, 200);
  t.equal(decodeProtectedHeader(res.json().access_token).alg, 'ES256');
});

t.test('Basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1)', async (t) => {
  const secret = 'a secret:with+odd%chars';
  await app.prisma.client.update({
    where: { id: 'demo-client' },
    data: { secretHash: (await import('../../src/lib/client-secrets.js')).hashClientSecret(secret) },
  });
  t.teardown(async () => {
    const { hashClientSecret } = await import('../../src/lib/client-secrets.js');
    await app.prisma.client.update({
      where: { id: 'demo-client' },
      data: { secretHash: hashClientSecret(config.DEMO_CLIENT_SECRET) },
    });
  });
  const { code, verifier } = await demoCode();
  t.equal((await tokenRequest(app, codeForm(code, verifier), { basic: ['demo-client', secret] })).statusCode, 200);
});

t.test('unknown client and wrong secret give the same 401 invalid_client', async (t) => {
  const { code, verifier } = await demoCode();
  const unknown = await tokenRequest(app, codeForm(code, verifier), { basic: ['nobody', 'x'] });
  const wrong = await tokenRequest(app, codeForm(code, verifier), { basic: ['demo-client', 'wrong-secret'] });
  for (const res of [unknown, wrong]) {
    expectError(t, res, 401, 'invalid_client');
    t.equal(res.headers['www-authenticate'], 'Basic realm="quartet"');
  }
  t.equal(unknown.body, wrong.body, 'identical bodies');
  const unknownPost = await tokenRequest(app, codeForm(code, verifier, { client_id: 'nobody', client_secret: 'x' }));
  const wrongPost = await tokenRequest(
    app,
    codeForm(code, verifier, { client_id: 'demo-client', client_secret: 'nope' }),
  );
  expectError(t, unknownPost, 401, 'invalid_client');
  expectError(t, wrongPost, 401, 'invalid_client');
  t.notOk(wrongPost.headers['www-authenticate'], 'no Basic challenge when Basic was not used');
  t.equal(unknownPost.body, wrongPost.body);
  // The code was not spent by failed client authentication.
  t.equal((await tokenRequest(app, codeForm(code, verifier), { basic: DEMO })).statusCode, 200);
});

t.test('client authentication failures', async (t) => {
  const { code, verifier } = await demoCode();
  expectError(t, await tokenRequest(app, codeForm(code, verifier)), 401, 'invalid_client');
  expectError(
    t,
    await tokenRequest(app, codeForm(code, verifier, { client_id: 'demo-client' })),
    401,
    'invalid_client',
  );
  expectError(
    t,
    await tokenRequest(app, codeForm(code, verifier), { headers: { authorization: 'Basic !!!' } }),
    401,
    'invalid_client',
  );
  expectError(
    t,
    await tokenRequest(app, codeForm(code, verifier), { headers: { authorization: 'Bearer abc' } }),
    401,
    'invalid_client',
  );
  expectError(
    t,
    await tokenRequest(app, codeForm(code, verifier), {
      headers: { authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` },
    }),
    401,
    'invalid_client',
  );
  // A public client presenting a secret is not authenticated.
  expectError(
    t,
    await tokenRequest(app, codeForm(code, verifier, { client_id: 'workshop-cli', client_secret: 'x' })),
    401,
    'invalid_client',
  );
});

t.test('two authentication methods at once -> invalid_request (RFC 6749 §2.3)', async (t) => {
  const { code, verifier } = await demoCode();
  const res = await tokenRequest(app, codeForm(code, verifier, { client_secret: config.DEMO_CLIENT_SECRET }), {
    basic: DEMO,
  });
  expectError(t, res, 400, 'invalid_request');
  const other = await tokenRequest(app, codeForm(code, verifier, { client_id: 'workshop-cli' }), { basic: DEMO });
  expectError(t, other, 400, 'invalid_request');
});

t.test('only application/x-www-form-urlencoded is accepted: anything else is 400 invalid_request', async (t) => {
  const { code, verifier } = await demoCode();
  for (const [type, payload] of [
    ['application/json', JSON.stringify(codeForm(code, verifier))],
    ['text/plain', 'grant_type=authorization_code'],
    ['application/xml', '<x/>'],
  ]) {
    const res = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: {
        'content-type': type!,
        authorization: `Basic ${Buffer.from('demo-client:' + config.DEMO_CLIENT_SECRET).toString('base64')}`,
      },
      payload,
    });
    expectError(t, res, 400, 'invalid_request');
    t.match(res.json().error_description, /x-www-form-urlencoded/);
  }
  const empty = await app.inject({ method: 'POST', url: '/oauth/token' });
  expectError(t, empty, 400, 'invalid_request');
});

t.test('repeated parameters -> invalid_request', async (t) => {
  const { code, verifier } = await demoCode();
  const res = await tokenRequest(app, { ...codeForm(code, verifier), code: [code, code] }, { basic: DEMO });
  expectError(t, res, 400, 'invalid_request');
  t.match(res.json().error_description, /code/);
});

t.test('grant_type missing -> invalid_request; unsupported -> unsupported_grant_type', async (t) => {
  expectError(t, await tokenRequest(app, { code: 'x' }, { basic: DEMO }), 400, 'invalid_request');
  expectError(
    t,
    await tokenRequest(app, { grant_type: 'password', username: 'alice', password: 'wonderland' }, { basic: DEMO }),
    400,
    'unsupported_grant_type',
  );
  expectError(
    t,
    await tokenRequest(app, { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer' }, { basic: DEMO }),
    400,
    'unsupported_grant_type',
  );
});

t.test('a client not registered for the grant -> unauthorized_client', async (t) => {
  await app.prisma.client.update({ where: { id: 'workshop-cli' }, data: { grantTypes: [] } });
  t.teardown(() =>
    app.prisma.client.update({ where: { id: 'workshop-cli' }, data: { grantTypes: ['authorization_code'] } }),
  );
  const res = await tokenRequest(app, {
    grant_type: 'authorization_code',
    code: 'x',
    code_verifier: 'y'.repeat(43),
    client_id: 'workshop-cli',
  });
  expectError(t, res, 400, 'unauthorized_client');
});

t.test('missing or malformed code / code_verifier -> invalid_request', async (t) => {
  const { code, verifier } = await demoCode();
  expectError(
    t,
    await tokenRequest(app, { grant_type: 'authorization_code', code_verifier: verifier }, { basic: DEMO }),
    400,
    'invalid_request',
  );
  expectError(
    t,
    await tokenRequest(app, { grant_type: 'authorization_code', code }, { basic: DEMO }),
    400,
    'invalid_request',
  );
  expectError(t, await tokenRequest(app, codeForm(code, 'short'), { basic: DEMO }), 400, 'invalid_request');
  expectError(t, await tokenRequest(app, codeForm(code, 'a'.repeat(129)), { basic: DEMO }), 400, 'invalid_request');
  expectError(
    t,
    await tokenRequest(app, codeForm(code, `${'a'.repeat(42)}+`), { basic: DEMO }),
    400,
    'invalid_request',
  );
  // None of those spent the code.
  t.equal((await tokenRequest(app, codeForm(code, verifier), { basic: DEMO })).statusCode, 200);
});

t.test('PKCE verifier that does not match -> invalid_grant, and the code is spent', async (t) => {
  const { code, verifier } = await demoCode();
  expectError(t, await tokenRequest(app, codeForm(code, 'b'.repeat(43)), { basic: DEMO }), 400, 'invalid_grant');
  expectError(t, await tokenRequest(app, codeForm(code, verifier), { basic: DEMO }), 400, 'invalid_grant');
});

t.test('redirect_uri must match the authorization request', async (t) => {
  const a = await demoCode();
  expectError(
    t,
    await tokenRequest(app, codeForm(a.code, a.verifier, { redirect_uri: 'http://localhost:3000/other' }), {
      basic: DEMO,
    }),
    400,
    'invalid_grant',
  );
  const b = await demoCode();
  const { redirect_uri: _omit, ...withoutRedirect } = codeForm(b.code, b.verifier);
  expectError(t, await tokenRequest(app, withoutRedirect, { basic: DEMO }), 400, 'invalid_grant');
  // Omitted in the authorization request (single registered URI): may be omitted here too.
  const c = await demoCode({ redirect_uri: undefined });
  const { redirect_uri: _omit2, ...form } = codeForm(c.code, c.verifier);
  t.equal((await tokenRequest(app, form, { basic: DEMO })).statusCode, 200);
});

t.test('a code issued to another client -> invalid_grant', async (t) => {
  const { code, verifier } = await demoCode();
  const res = await tokenRequest(app, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: DEMO_REDIRECT,
    client_id: 'workshop-cli',
  });
  expectError(t, res, 400, 'invalid_grant');
});

t.test('unknown and reused codes -> invalid_grant', async (t) => {
  expectError(
    t,
    await tokenRequest(app, codeForm('not-a-code', 'c'.repeat(43)), { basic: DEMO }),
    400,
    'invalid_grant',
  );
  const { code, verifier } = await demoCode();
  t.equal((await tokenRequest(app, codeForm(code, verifier), { basic: DEMO })).statusCode, 200);
  expectError(t, await tokenRequest(app, codeForm(code, verifier), { basic: DEMO }), 400, 'invalid_grant');
});

t.test(
  'two concurrent redemptions of one code: one is a replay, so neither ends with usable tokens (RFC 6749 §4.1.2)',
  async (t) => {
    for (let round = 0; round < 3; round++) {
      const { code, verifier } = await demoCode();
      const results = await Promise.all([
        tokenRequest(app, codeForm(code, verifier), { basic: DEMO }),
        tokenRequest(app, codeForm(code, verifier), { basic: DEMO }),
      ]);
      const ok = results.filter((r) => r.statusCode === 200);
      t.ok(ok.length <= 1, 'at most one answer carries tokens');
      for (const r of results.filter((r) => r.statusCode !== 200)) t.equal(r.json().error, 'invalid_grant');
      t.ok((await app.grants.findByCode(code))?.revokedAt, 'the grant ends revoked, whichever came first');
      for (const r of ok) {
        const refresh = await tokenRequest(
          app,
          { grant_type: 'refresh_token', refresh_token: r.json().refresh_token },
          { basic: DEMO },
        );
        t.equal(refresh.json().error, 'invalid_grant', "the winner's refresh token is dead");
      }
    }
  },
);

t.test('an expired code -> invalid_grant', async (t) => {
  const env = await buildTestApp(t, { AUTHORIZATION_CODE_TTL: '1' });
  const { code, verifier } = await obtainCode(env.app);
  await new Promise((r) => setTimeout(r, 2100));
  expectError(t, await tokenRequest(env.app, codeForm(code, verifier), { basic: DEMO }), 400, 'invalid_grant');
});
