// What the token endpoint, revocation and introspection tests share: an app with short refresh-token lifetimes
// and a second resource (RFC 8707), alice's browser, and one-line requests of each kind.
import type { Test } from 'tap';
import { buildTestApp } from './helper.js';
import { Browser, DEMO_REDIRECT, obtainCode, tokenRequest } from './browser.js';

export const OTHER_RESOURCE = 'http://localhost:9200';

export type Res = Awaited<ReturnType<typeof tokenRequest>>;

/** The status and error; the error_description exactly (a string) or matching (a pattern). */
export function expectError(t: Test, res: Res, status: number, error: string, description?: RegExp | string) {
  t.equal(res.statusCode, status, `status ${status}`);
  t.equal(res.json().error, error);
  if (typeof description === 'string') t.equal(res.json().error_description, description);
  else if (description) t.match(res.json().error_description, description);
}

export async function tokenFixtures(t: Test) {
  const { app, config, environment } = await buildTestApp(t, {
    REFRESH_TOKEN_TTL: '3600',
    REFRESH_TOKEN_IDLE_TTL: '600',
    RESOURCES: OTHER_RESOURCE,
  });
  const DEMO: [string, string] = ['demo-client', config.DEMO_CLIENT_SECRET];
  const browser = new Browser(app);

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

  return { app, config, environment, DEMO, browser, tokens, refresh, introspect, revoke };
}
