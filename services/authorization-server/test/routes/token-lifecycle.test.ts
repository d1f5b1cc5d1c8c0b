// Refresh tokens (rotation, reuse, concurrency, scope narrowing, lifetimes), code replay, client_credentials,
// resource indicators, revocation (RFC 7009) and introspection (RFC 7662).
import t, { type Test } from 'tap';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { needsRealDatabase } from '@quartet/testing';
import { buildTestApp } from '../helper.js';
import {
  ALICE_ID,
  CLI_REDIRECT,
  DEMO_REDIRECT,
  authorizeUrl,
  Browser,
  location,
  obtainCode,
  tokenRequest,
} from '../browser.js';

const OTHER_RESOURCE = 'http://localhost:9200';
const { app, config, environment } = await buildTestApp(t, {
  REFRESH_TOKEN_TTL: '3600',
  REFRESH_TOKEN_IDLE_TTL: '600',
  RESOURCES: OTHER_RESOURCE,
});
const DEMO: [string, string] = ['demo-client', config.DEMO_CLIENT_SECRET];
const browser = new Browser(app);

type Res = Awaited<ReturnType<typeof tokenRequest>>;

function expectError(t: Test, res: Res, status: number, error: string, description?: RegExp) {
  t.equal(res.statusCode, status, `status ${status}`);
  t.equal(res.json().error, error);
  if (description) t.match(res.json().error_description, description);
}

/** Code flow for alice with demo-client (consent remembered after the first), returning the token response. */
async function tokens(params: Record<string, string> = {}, extra: Record<string, string> = {}) {
  const { code, verifier } = await obtainCode(app, { browser, params });
  const res = await tokenRequest(
    app,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT, ...extra },
    { basic: DEMO },
  );
  if (res.statusCode !== 200) throw new Error(`token request failed: ${res.body}`);
  return { ...(res.json() as { access_token: string; refresh_token: string; scope: string }), code, verifier };
}

const refresh = (refreshToken: string, extra: Record<string, string> = {}, basic = DEMO) =>
  tokenRequest(app, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }, { basic });
const introspect = (token: string, basic = DEMO) => tokenRequest(app, { token }, { basic, url: '/oauth/introspect' });
const revoke = (token: string, extra: Record<string, string> = {}, basic = DEMO) =>
  tokenRequest(app, { token, ...extra }, { basic, url: '/oauth/revoke' });

t.test('refresh rotates: a new refresh token each time, the old one is spent (RFC 9700 §4.14.2)', async (t) => {
  const first = await tokens();
  const res = await refresh(first.refresh_token);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  const body = res.json();
  t.not(body.refresh_token, first.refresh_token, 'rotated');
  t.equal(body.scope, 'photos:read documents:read');
  const claims = decodeJwt(body.access_token);
  t.equal(claims.sub, ALICE_ID);
  t.equal(claims.grant_id, decodeJwt(first.access_token).grant_id, 'same grant');
  t.equal((await refresh(body.refresh_token)).statusCode, 200, 'the successor works');
});

t.test('reusing a rotated refresh token revokes the whole family -> invalid_grant', async (t) => {
  const first = await tokens();
  const second = (await refresh(first.refresh_token)).json();
  expectError(t, await refresh(first.refresh_token), 400, 'invalid_grant', /already used/);
  expectError(t, await refresh(second.refresh_token), 400, 'invalid_grant', /revoked/);
  t.same((await introspect(second.access_token)).json(), { active: false }, "the family's access tokens are inactive");
  t.same((await introspect(first.access_token)).json(), { active: false });
});

t.test('concurrent uses of one refresh token: at most one succeeds', async (t) => {
  const { refresh_token } = await tokens();
  const results = await Promise.all(Array.from({ length: 8 }, () => refresh(refresh_token)));
  const ok = results.filter((r) => r.statusCode === 200);
  t.ok(ok.length <= 1, `${ok.length} succeeded`);
  for (const r of results.filter((r) => r.statusCode !== 200)) t.equal(r.json().error, 'invalid_grant');
  // Whoever lost raised the alarm: the winner's successor is dead too.
  for (const r of ok) expectError(t, await refresh(r.json().refresh_token), 400, 'invalid_grant');
});

t.test(
  'a revocation committing while a refresh is in flight wins: no successor is issued',
  { skip: needsRealDatabase },
  async (t) => {
    const first = await tokens();
    const grantId = decodeJwt(first.access_token).grant_id as string;
    const db = new pg.Client({ connectionString: environment.backendEnv.DATABASE_URL });
    await db.connect();
    t.teardown(() => db.end());
    // Revoke in a transaction that has not committed yet when the refresh reaches its spend-and-replace statement.
    await db.query('BEGIN');
    await db.query(`UPDATE "grants" SET "revoked_at" = now(), "revoked_reason" = 'test' WHERE "id" = $1`, [grantId]);
    const pending = refresh(first.refresh_token);
    const waiting = async () =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted')).rows[0]!.n > 0;
    for (let i = 0; i < 250 && !(await waiting()); i++) await new Promise((r) => setTimeout(r, 20));
    t.ok(await waiting(), 'the refresh waits for the revoking transaction');
    await db.query('COMMIT');
    expectError(t, await pending, 400, 'invalid_grant', /revoked/);
    const { rows } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM "refresh_tokens" WHERE "grant_id" = $1',
      [grantId],
    );
    t.equal(rows[0]!.n, 1, 'only the original refresh token exists: no successor was inserted');
  },
);

t.test('refresh may narrow the scope, never widen it (RFC 6749 §6)', async (t) => {
  const first = await tokens();
  const narrowed = await refresh(first.refresh_token, { scope: 'photos:read' });
  t.equal(narrowed.statusCode, 200);
  t.equal(narrowed.json().scope, 'photos:read');
  t.equal(decodeJwt(narrowed.json().access_token).scope, 'photos:read');
  // The grant keeps its scopes: the next refresh without scope gets all of them back.
  const full = await refresh(narrowed.json().refresh_token);
  t.equal(full.json().scope, 'photos:read documents:read');
  const current = full.json().refresh_token;
  expectError(t, await refresh(current, { scope: 'photos:read photos:write' }), 400, 'invalid_scope', /photos:write/);
  expectError(t, await refresh(current, { scope: 'bad"scope' }), 400, 'invalid_scope');
  t.equal((await refresh(current)).statusCode, 200, 'a refused request did not spend the token');
});

t.test('refresh tokens have an idle and an absolute lifetime', async (t) => {
  const first = await tokens();
  const grantId = decodeJwt(first.access_token).grant_id as string;
  const grant = await app.prisma.grant.findUniqueOrThrow({ where: { id: grantId }, include: { refreshTokens: true } });
  t.equal(grant.expiresAt.getTime() - grant.createdAt.getTime(), 3600_000, 'absolute: REFRESH_TOKEN_TTL');
  const [token] = grant.refreshTokens;
  t.equal(token!.expiresAt.getTime() - token!.createdAt.getTime(), 600_000, 'idle: REFRESH_TOKEN_IDLE_TTL');

  await app.prisma.refreshToken.updateMany({ where: { grantId }, data: { expiresAt: new Date(Date.now() - 1000) } });
  expectError(t, await refresh(first.refresh_token), 400, 'invalid_grant', /expired/);

  const other = await tokens();
  const otherGrant = decodeJwt(other.access_token).grant_id as string;
  await app.prisma.grant.update({ where: { id: otherGrant }, data: { expiresAt: new Date(Date.now() - 1000) } });
  expectError(t, await refresh(other.refresh_token), 400, 'invalid_grant', /expired/);
});

t.test('a refresh token presented by another client is refused and not spent', async (t) => {
  const { refresh_token } = await tokens();
  const res = await tokenRequest(app, { grant_type: 'refresh_token', refresh_token, client_id: 'workshop-cli' });
  expectError(t, res, 400, 'invalid_grant', /another client/);
  t.equal((await refresh(refresh_token)).statusCode, 200);
  expectError(t, await refresh('not-a-real-token'), 400, 'invalid_grant');
  expectError(t, await tokenRequest(app, { grant_type: 'refresh_token' }, { basic: DEMO }), 400, 'invalid_request');
});

t.test(
  'code replay by its client with the right verifier revokes the tokens issued from it (RFC 6749 §4.1.2)',
  async (t) => {
    const first = await tokens();
    const replay = await tokenRequest(
      app,
      {
        grant_type: 'authorization_code',
        code: first.code,
        code_verifier: first.verifier,
        redirect_uri: DEMO_REDIRECT,
      },
      { basic: DEMO },
    );
    expectError(t, replay, 400, 'invalid_grant', /revoked/);
    expectError(t, await refresh(first.refresh_token), 400, 'invalid_grant', /revoked/);
    t.same((await introspect(first.access_token)).json(), { active: false });
  },
);

t.test('code replay with a wrong verifier or by another client revokes nothing', async (t) => {
  const first = await tokens();
  const wrongVerifier = await tokenRequest(
    app,
    { grant_type: 'authorization_code', code: first.code, code_verifier: 'w'.repeat(43), redirect_uri: DEMO_REDIRECT },
    { basic: DEMO },
  );
  expectError(t, wrongVerifier, 400, 'invalid_grant', /invalid, expired or already used/);
  const otherClient = await tokenRequest(app, {
    grant_type: 'authorization_code',
    code: first.code,
    code_verifier: first.verifier,
    redirect_uri: CLI_REDIRECT,
    client_id: 'workshop-cli',
  });
  expectError(t, otherClient, 400, 'invalid_grant', /invalid, expired or already used/);
  t.equal((await introspect(first.access_token)).json().active, true, 'access token still active');
  t.equal((await refresh(first.refresh_token)).statusCode, 200, 'refresh token still works');
});

t.test('client_credentials: the client acting for itself (RFC 6749 §4.4, RFC 9068 §2.2)', async (t) => {
  const res = await tokenRequest(app, { grant_type: 'client_credentials', scope: 'photos:read' }, { basic: DEMO });
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.notOk(body.refresh_token, 'no refresh token (§4.4.3)');
  t.equal(body.scope, 'photos:read');
  const claims = decodeJwt(body.access_token);
  t.equal(claims.sub, 'demo-client', 'sub is the client, never a user id');
  t.equal(claims.client_id, 'demo-client');
  t.notOk(claims.grant_id);
  t.equal(claims.aud, config.RESOURCE_AUDIENCE);

  const all = await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: DEMO });
  t.equal(all.json().scope, 'photos:read photos:write documents:read documents:write', 'default: every allowed scope');
  expectError(
    t,
    await tokenRequest(app, { grant_type: 'client_credentials', scope: 'admin' }, { basic: DEMO }),
    400,
    'invalid_scope',
  );
  // workshop-cli is public and not registered for it.
  expectError(
    t,
    await tokenRequest(app, { grant_type: 'client_credentials', client_id: 'workshop-cli' }),
    400,
    'unauthorized_client',
  );
});

t.test('client_credentials is refused to a public client even if registered for it', async (t) => {
  await app.prisma.client.update({
    where: { id: 'workshop-cli' },
    data: { grantTypes: ['authorization_code', 'client_credentials'] },
  });
  t.teardown(() =>
    app.prisma.client.update({
      where: { id: 'workshop-cli' },
      data: { grantTypes: ['authorization_code', 'refresh_token'] },
    }),
  );
  expectError(
    t,
    await tokenRequest(app, { grant_type: 'client_credentials', client_id: 'workshop-cli' }),
    400,
    'unauthorized_client',
    /public client/,
  );
});

t.test('resource indicators (RFC 8707): aud is the resource; unknown or malformed -> invalid_target', async (t) => {
  const other = await tokens({ resource: OTHER_RESOURCE });
  t.equal(decodeJwt(other.access_token).aud, OTHER_RESOURCE);
  t.equal(decodeJwt((await refresh(other.refresh_token)).json().access_token).aud, OTHER_RESOURCE, 'kept on refresh');

  for (const [resource, why] of [
    ['http://evil.example', /Unknown resource/],
    ['not a uri', /absolute URI/],
    [`${OTHER_RESOURCE}#frag`, /fragment/],
    [[OTHER_RESOURCE, config.RESOURCE_AUDIENCE], /one resource/],
  ] as const) {
    const res = await browser.get(authorizeUrl({ resource: resource as string | string[] }));
    const url = location(res);
    t.equal(url.searchParams.get('error'), 'invalid_target', `authorize: ${String(resource)}`);
    t.match(url.searchParams.get('error_description'), why);
    t.equal(url.searchParams.get('iss'), config.ISSUER);
  }

  const { code, verifier } = await obtainCode(app, { browser });
  const mismatch = await tokenRequest(
    app,
    {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: DEMO_REDIRECT,
      resource: OTHER_RESOURCE,
    },
    { basic: DEMO },
  );
  expectError(t, mismatch, 400, 'invalid_target', /does not cover/);
  const plain = await tokens();
  expectError(t, await refresh(plain.refresh_token, { resource: OTHER_RESOURCE }), 400, 'invalid_target');
  expectError(
    t,
    await tokenRequest(app, { grant_type: 'client_credentials', resource: 'http://unknown.example' }, { basic: DEMO }),
    400,
    'invalid_target',
  );
  const cc = await tokenRequest(app, { grant_type: 'client_credentials', resource: OTHER_RESOURCE }, { basic: DEMO });
  t.equal(decodeJwt(cc.json().access_token).aud, OTHER_RESOURCE);
});

t.test('revoking a refresh token ends its grant (RFC 7009 §2.1)', async (t) => {
  const first = await tokens();
  const res = await revoke(first.refresh_token, { token_type_hint: 'refresh_token' });
  t.equal(res.statusCode, 200);
  t.equal(res.body, '');
  expectError(t, await refresh(first.refresh_token), 400, 'invalid_grant', /revoked/);
  t.same((await introspect(first.access_token)).json(), { active: false }, 'its access tokens too');
});

t.test('revoking an access token makes it inactive; its refresh token lives on', async (t) => {
  const first = await tokens();
  t.equal(
    (await revoke(first.access_token, { token_type_hint: 'refresh_token' })).statusCode,
    200,
    'a wrong hint is only a hint',
  );
  t.same((await introspect(first.access_token)).json(), { active: false });
  t.equal((await refresh(first.refresh_token)).statusCode, 200);
});

t.test('revoke: unknown or foreign tokens answer 200 and change nothing; errors per RFC 7009 §2.2.1', async (t) => {
  const first = await tokens();
  t.equal((await revoke('unknown-token')).statusCode, 200);
  t.equal((await revoke('a.b.c')).statusCode, 200);
  // workshop-cli (public) may revoke its own tokens only.
  const foreign = await tokenRequest(
    app,
    { token: first.refresh_token, client_id: 'workshop-cli' },
    { url: '/oauth/revoke' },
  );
  t.equal(foreign.statusCode, 200);
  const foreignAt = await tokenRequest(
    app,
    { token: first.access_token, client_id: 'workshop-cli' },
    { url: '/oauth/revoke' },
  );
  t.equal(foreignAt.statusCode, 200);
  t.equal((await introspect(first.access_token)).json().active, true, 'still active');
  t.equal((await refresh(first.refresh_token)).statusCode, 200, 'still usable');

  expectError(t, await revoke(''), 400, 'invalid_request', /token is required/);
  expectError(t, await tokenRequest(app, { token: 'x' }, { url: '/oauth/revoke' }), 401, 'invalid_client');
  expectError(t, await revoke('x', {}, ['demo-client', 'wrong-secret']), 401, 'invalid_client');
  const json = await app.inject({
    method: 'POST',
    url: '/oauth/revoke',
    headers: { 'content-type': 'application/json' },
    payload: '{"token":"x"}',
  });
  expectError(t, json, 400, 'invalid_request');
});

t.test('introspection (RFC 7662): active tokens described, everything else only {"active": false}', async (t) => {
  const first = await tokens();
  const at = await introspect(first.access_token);
  t.equal(at.statusCode, 200);
  t.equal(at.headers['cache-control'], 'no-store');
  const body = at.json();
  t.match(body, {
    active: true,
    scope: 'photos:read documents:read',
    client_id: 'demo-client',
    username: 'alice',
    token_type: 'Bearer',
    sub: ALICE_ID,
    aud: config.RESOURCE_AUDIENCE,
    iss: config.ISSUER,
  });
  t.type(body.exp, 'number');

  const rt = (await introspect(first.refresh_token)).json();
  t.match(rt, { active: true, client_id: 'demo-client', sub: ALICE_ID, scope: 'photos:read documents:read' });

  const cc = (await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: DEMO })).json();
  const ccInfo = (await introspect(cc.access_token)).json();
  t.equal(ccInfo.active, true);
  t.equal(ccInfo.sub, 'demo-client');
  t.notOk(ccInfo.username, 'no user');

  t.same((await introspect('garbage')).json(), { active: false });
  const tampered = first.access_token.slice(0, -4) + (first.access_token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  t.same((await introspect(tampered)).json(), { active: false });

  // A foreign client sees nothing of another client's tokens.
  await app.prisma.client.create({
    data: {
      id: 'other-confidential',
      name: 'Other',
      secretHash: (await import('../../src/lib/client-secrets.js')).hashClientSecret('other-secret-123'),
      redirectUris: [],
      allowedScopes: ['photos:read'],
      grantTypes: ['client_credentials'],
    },
  });
  t.same((await introspect(first.access_token, ['other-confidential', 'other-secret-123'])).json(), { active: false });
  t.same((await introspect(first.refresh_token, ['other-confidential', 'other-secret-123'])).json(), { active: false });

  // A public client proves nothing: it may not introspect.
  expectError(
    t,
    await tokenRequest(app, { token: first.access_token, client_id: 'workshop-cli' }, { url: '/oauth/introspect' }),
    401,
    'invalid_client',
  );
  expectError(t, await introspect(''), 400, 'invalid_request');
});

t.test('metadata advertises the new endpoints and grants (RFC 8414)', async (t) => {
  const meta = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  t.equal(meta.revocation_endpoint, `${config.ISSUER}/oauth/revoke`);
  t.equal(meta.introspection_endpoint, `${config.ISSUER}/oauth/introspect`);
  t.same(meta.grant_types_supported, ['authorization_code', 'refresh_token', 'client_credentials']);
  t.same(meta.introspection_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post']);
});
