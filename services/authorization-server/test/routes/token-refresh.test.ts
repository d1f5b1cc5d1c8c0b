// The refresh_token grant (RFC 6749 §6; RFC 9700 §4.14): rotation, reuse and concurrent use revoking the
// grant, a revocation racing a refresh, scope narrowing, lifetimes, another client's token.
import t from 'tap';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { needsRealDatabase } from '@quartet/testing';
import { ALICE_ID, tokenRequest } from '../browser.js';
import { expectError, tokenFixtures } from '../token-fixtures.js';

const { app, environment, DEMO, tokens, refresh, introspect } = await tokenFixtures(t);

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
