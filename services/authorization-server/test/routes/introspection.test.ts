// POST /oauth/introspect (RFC 7662): active tokens described, everything else only {"active": false}.
import t from 'tap';
import { ALICE_ID, tokenRequest } from '../browser.js';
import { expectError, tokenFixtures } from '../token-fixtures.js';

const { app, config, DEMO, tokens, introspect } = await tokenFixtures(t);

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
