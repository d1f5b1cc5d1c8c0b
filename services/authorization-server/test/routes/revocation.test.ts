// POST /oauth/revoke (RFC 7009): a refresh token ends its grant, an access token is revoked alone, and
// unknown or foreign tokens answer 200 and change nothing.
import t from 'tap';
import { tokenRequest } from '../browser.js';
import { expectError, tokenFixtures } from '../token-fixtures.js';

const { app, tokens, refresh, introspect, revoke } = await tokenFixtures(t);

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
