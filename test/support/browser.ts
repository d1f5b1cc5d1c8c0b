// The end-to-end tests' browser: @quartet/common's user agent (tough-cookie jar, manual redirects, forms
// read by node-html-parser) over real HTTP, plus the walks the tests repeat: playing alice at the
// authorization server, and "Connect my photos" in the client app.
import { createHash, randomBytes } from 'node:crypto';
import { UserAgent, forms as formsOf, type Form, type Page as AgentPage } from '@quartet/common';

export type Page = AgentPage<Response>;
export type { Form };

export class Browser extends UserAgent<Response> {
  /** The Cookie header this browser sends to `url`. */
  cookieHeader(url: string): string {
    return this.jar.getCookieStringSync(url);
  }

  /** Every cookie value it holds, for "no token in a cookie" checks. */
  cookieValues(): string[] {
    return this.jar.serializeSync()!.cookies.map((c) => String(c.value ?? ''));
  }
}

/** Every <form> of a page (action resolved, method upper case, fields, buttons). */
export function forms(page: Page): Form[] {
  return formsOf(page.body, page.url);
}

/** The fields `form` submits pressing the button whose text/value matches `button`, plus `extra`. */
export function submission(form: Form, extra: Record<string, string> = {}, button?: RegExp): Record<string, string> {
  const data = { ...form.fields, ...extra };
  if (button) {
    const b = form.buttons.find((x) => button.test(x.text) || button.test(x.value));
    if (!b) throw new Error(`no button matching ${button} in form ${form.action}: ${JSON.stringify(form.buttons)}`);
    if (b.name) data[b.name] = b.value;
  }
  return data;
}

/**
 * Plays the resource owner at the authorization server: from an authorization URL, logs in (if asked) and
 * approves (if asked) until the server redirects to `redirectPrefix`; returns that redirect URL unfollowed.
 */
export async function authorizeAs(
  browser: Browser,
  url: string,
  redirectPrefix: string,
  username = 'alice',
  password = 'wonderland',
): Promise<string> {
  let page = await browser.request(url);
  for (let i = 0; i < 10; i++) {
    if (page.location?.startsWith(redirectPrefix)) return page.location;
    if (page.location && page.status >= 300 && page.status < 400) {
      page = await browser.request(page.location);
      continue;
    }
    const form = forms(page).find((f) => f.method === 'POST');
    if (!form) break;
    const isLogin = new URL(form.action).pathname.endsWith('/login');
    page = await browser.submit(form, isLogin ? { username, password } : submission(form, {}, /^(approve|allow)/i));
  }
  throw new Error(`never redirected to ${redirectPrefix}: ${browser.history.join(', ')}`);
}

/**
 * Plays alice in the client app: presses "Connect my photos", logs in and approves at the authorization
 * server, and follows the callback; returns the page the client app ends on (her photos when all went well).
 */
export async function connectAndSeePhotos(
  browser: Browser,
  clientUrl: string,
  username = 'alice',
  password = 'wonderland',
): Promise<Page> {
  const home = await browser.request(`${clientUrl}/`);
  const form = forms(home).find((f) => new URL(f.action).pathname === '/connect');
  const connect = form ? await browser.submit(form) : await browser.request(`${clientUrl}/connect`);
  if (!connect.location) throw new Error(`"Connect" did not redirect: ${connect.status} ${connect.body.slice(0, 300)}`);
  const callback = await authorizeAs(browser, connect.location, `${clientUrl}/callback`, username, password);
  return (await browser.follow(await browser.request(callback))).at(-1)!;
}

/** RFC 7636 S256: a fresh code verifier and its challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The demo client's authorization request at `issuer` (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3). */
export function authorizationUrl(
  issuer: string,
  request: { redirectUri: string; challenge: string; state?: string; scope?: string; clientId?: string },
): string {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: request.clientId ?? 'demo-client',
    redirect_uri: request.redirectUri,
    scope: request.scope ?? 'photos:read',
    state: request.state ?? randomBytes(8).toString('hex'),
    code_challenge: request.challenge,
    code_challenge_method: 'S256',
  });
  return `${issuer}/authorize?${query}`;
}
