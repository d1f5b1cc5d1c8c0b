// The grants of the token endpoint (src/oauth/token-grants.ts) as the protocol core: what each decides and the
// events it emits for subscribers (metrics, workshop tracing), in order, with the reason of every refusal.
// The HTTP answers of the same cases are test/routes/token*.test.ts.
import t from 'tap';
import type { AuthorizationServerEvents } from '../../src/domain/events.js';
import { buildTestApp } from '../helper.js';
import { DEMO_REDIRECT, obtainCode, pkcePair, tokenRequest } from '../browser.js';

const { app, config } = await buildTestApp(t);
const DEMO: [string, string] = ['demo-client', config.DEMO_CLIENT_SECRET];
type Name = keyof AuthorizationServerEvents;
const TOKEN_EVENTS: Name[] = [
  'client.authenticated',
  'token.requested',
  'code.claimed',
  'code.verified',
  'code.redeemed',
  'code.replayed',
  'refresh.rotated',
  'refresh.reused',
  'token.issued',
  'grant.revoked',
  'check.failed',
];

/** Runs `action` and returns the token endpoint events it emitted: name, and reason for check.failed. */
async function emitted(action: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const off = TOKEN_EVENTS.map((name) =>
    app.events.on(name, (payload) => {
      const p = payload as { reason?: string; cause?: string; grantType?: string };
      seen.push(
        name === 'check.failed'
          ? `check.failed ${p.reason}`
          : name === 'grant.revoked'
            ? `grant.revoked ${p.cause}`
            : name === 'token.issued'
              ? `token.issued ${p.grantType}`
              : name,
      );
    }),
  );
  try {
    await action();
  } finally {
    off.forEach((unsubscribe) => unsubscribe());
  }
  return seen;
}

const codeForm = (code: string, verifier: string) => ({
  grant_type: 'authorization_code',
  code,
  code_verifier: verifier,
  redirect_uri: DEMO_REDIRECT,
});

t.test('a redemption: claimed, verified, token issued, redeemed', async (t) => {
  const { code, verifier } = await obtainCode(app);
  t.same(await emitted(() => tokenRequest(app, codeForm(code, verifier), { basic: DEMO })), [
    'client.authenticated',
    'token.requested',
    'code.claimed',
    'code.verified',
    'token.issued authorization_code',
    'code.redeemed',
  ]);

  t.test('its replay by the same client: the grant is revoked, then refused (RFC 6749 §4.1.2)', async (t) => {
    // The code's data is still held, so the replay is recorded by code (grants.recordReplay), whichever of the
    // two redemptions recorded the grant first: no grant id to tell (grant.revoked comes once the data expired).
    t.same(await emitted(() => tokenRequest(app, codeForm(code, verifier), { basic: DEMO })), [
      'client.authenticated',
      'token.requested',
      'code.replayed',
      'check.failed code-replayed',
    ]);
  });

  t.test('its replay with a wrong verifier revokes nothing', async (t) => {
    t.same(await emitted(() => tokenRequest(app, codeForm(code, pkcePair().verifier), { basic: DEMO })), [
      'client.authenticated',
      'token.requested',
      'check.failed code-invalid',
    ]);
  });
});

t.test('a check after the claim refuses with its reason (the code is spent all the same)', async (t) => {
  const { code } = await obtainCode(app);
  t.same(await emitted(() => tokenRequest(app, codeForm(code, pkcePair().verifier), { basic: DEMO })), [
    'client.authenticated',
    'token.requested',
    'code.claimed',
    'check.failed pkce-mismatch',
  ]);
});

t.test(
  'refresh: rotated; a spent token presented again is reuse and revokes the grant (RFC 9700 §4.14.2)',
  async (t) => {
    const { code, verifier } = await obtainCode(app);
    const { refresh_token } = (await tokenRequest(app, codeForm(code, verifier), { basic: DEMO })).json();
    const refresh = () => tokenRequest(app, { grant_type: 'refresh_token', refresh_token }, { basic: DEMO });
    t.same(await emitted(refresh), [
      'client.authenticated',
      'token.requested',
      'refresh.rotated',
      'token.issued refresh_token',
    ]);
    t.same(await emitted(refresh), [
      'client.authenticated',
      'token.requested',
      'grant.revoked refresh-reuse',
      'refresh.reused',
      'check.failed refresh-token-reused',
    ]);
    t.same(await emitted(refresh), ['client.authenticated', 'token.requested', 'check.failed refresh-token-revoked']);
  },
);

t.test('client_credentials and refusals before any grant', async (t) => {
  t.same(
    await emitted(() => tokenRequest(app, { grant_type: 'client_credentials', scope: 'photos:read' }, { basic: DEMO })),
    ['client.authenticated', 'token.requested', 'token.issued client_credentials'],
  );
  t.same(await emitted(() => tokenRequest(app, { grant_type: 'password' }, { basic: DEMO })), [
    'client.authenticated',
    'check.failed grant-type-unsupported',
  ]);
  t.same(
    await emitted(() => tokenRequest(app, { grant_type: 'client_credentials' }, { basic: ['demo-client', 'wrong'] })),
    ['check.failed client-authentication-failed'],
  );
});

t.test('a listener that throws changes no answer: it is logged, the token is issued', async (t) => {
  const off = app.events.on('token.issued', () => {
    throw new Error('a broken subscriber');
  });
  t.teardown(off);
  const res = await tokenRequest(app, { grant_type: 'client_credentials' }, { basic: DEMO });
  t.equal(res.statusCode, 200);
  t.ok(res.json().access_token);
});
