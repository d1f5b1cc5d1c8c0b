// The client_credentials grant (RFC 6749 §4.4, RFC 9068 §2.2): the client acting for itself, confidential
// clients only.
import t from 'tap';
import { decodeJwt } from 'jose';
import { tokenRequest } from '../browser.js';
import { expectError, tokenFixtures } from '../token-fixtures.js';

const { app, config, DEMO } = await tokenFixtures(t);

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
