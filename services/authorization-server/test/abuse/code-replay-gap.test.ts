// Replays in the gap (RFC 6749 §4.1.2): a replayed code that arrives after the first redemption claimed the
// code but before that redemption recorded its grant must still end with the first redemption's tokens
// revoked. The gap is held open by pausing the first redemption just before it writes its grant.
import t, { type Test } from 'tap';
import { buildTestApp } from '../helper.js';
import { DEMO_REDIRECT, obtainCode, tokenRequest } from '../browser.js';
import type { App } from '../../src/app.js';

/** A fresh app and a code for demo-client, with the token request form that redeems it. */
async function codeToRedeem(t: Test) {
  const { app, config } = await buildTestApp(t);
  const basic: [string, string] = ['demo-client', config.DEMO_CLIENT_SECRET];
  const { code, verifier } = await obtainCode(app);
  const form = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT };
  return { app, basic, code, form };
}

/** Makes the next grants.create wait until `release()` is called; `reached` resolves when it is waiting. */
function holdNextGrantWrite(app: App) {
  const original = app.grants.create.bind(app.grants);
  let release!: () => void;
  let reachedResolve!: () => void;
  const reached = new Promise<void>((r) => (reachedResolve = r));
  const gate = new Promise<void>((r) => (release = r));
  app.grants.create = async (grant) => {
    app.grants.create = original;
    reachedResolve();
    await gate;
    return original(grant);
  };
  return { reached, release };
}

t.test(
  'a replay while the first redemption is still writing its grant: the first redemption issues nothing',
  async (t) => {
    const { app, basic, code, form } = await codeToRedeem(t);

    const hold = holdNextGrantWrite(app);
    const first = tokenRequest(app, form, { basic });
    await hold.reached; // the code is claimed, its grant not yet written
    const replay = await tokenRequest(app, form, { basic });
    t.equal(replay.statusCode, 400);
    t.same(replay.json(), {
      error: 'invalid_grant',
      error_description: 'The authorization code was already used; the tokens issued from it have been revoked.',
    });
    hold.release();
    const firstAnswer = await first;
    t.equal(firstAnswer.statusCode, 400, 'the first redemption gets no tokens');
    t.equal(firstAnswer.json().error, 'invalid_grant');
    const grant = await app.grants.findByCode(code);
    t.ok(grant?.revokedAt, 'the grant is recorded as revoked');
    t.equal(
      await app.prisma.refreshToken.count({ where: { grantId: grant!.id } }),
      0,
      'no refresh token was ever issued',
    );
  },
);

t.test(
  "a replay after the grant was written but before the first answer: the first redemption's tokens are revoked",
  async (t) => {
    const { app, basic, form } = await codeToRedeem(t);
    const issued = await tokenRequest(app, form, { basic });
    t.equal(issued.statusCode, 200);
    const replay = await tokenRequest(app, form, { basic });
    t.equal(
      replay.json().error_description,
      'The authorization code was already used; the tokens issued from it have been revoked.',
    );
    const refresh = await tokenRequest(
      app,
      { grant_type: 'refresh_token', refresh_token: issued.json().refresh_token },
      { basic },
    );
    t.equal(refresh.statusCode, 400);
    t.equal(refresh.json().error_description, 'The refresh token has been revoked.');
    const introspection = await tokenRequest(
      app,
      { token: issued.json().access_token },
      { basic, url: '/oauth/introspect' },
    );
    t.same(introspection.json(), { active: false }, 'its access token is inactive at once');
  },
);

t.test('a replay in the gap by someone without the verifier revokes nothing', async (t) => {
  const { app, basic, code, form } = await codeToRedeem(t);
  const hold = holdNextGrantWrite(app);
  const first = tokenRequest(app, form, { basic });
  await hold.reached;
  const thief = await tokenRequest(app, { ...form, code_verifier: 'v'.repeat(43) }, { basic });
  t.same(thief.json(), {
    error: 'invalid_grant',
    error_description: 'The authorization code is invalid, expired or already used.',
  });
  hold.release();
  const firstAnswer = await first;
  t.equal(firstAnswer.statusCode, 200, 'the rightful redemption goes through');
  t.notOk((await app.grants.findByCode(code))?.revokedAt);
});
