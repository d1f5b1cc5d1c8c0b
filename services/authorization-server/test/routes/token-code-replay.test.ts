// A replayed authorization code (RFC 6749 §4.1.2): by its own client with the right verifier it revokes what
// the code produced; with a wrong verifier or by another client it revokes nothing.
import t from 'tap';
import { CLI_REDIRECT, DEMO_REDIRECT, tokenRequest } from '../browser.js';
import { expectError, tokenFixtures } from '../token-fixtures.js';

const { app, DEMO, tokens, refresh, introspect } = await tokenFixtures(t);

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
