// A tiny browser for app.inject: keeps cookies and walks the authorization flow the way a user would.
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { App } from '../src/app.js';
import { s256 } from '../src/lib/pkce.js';

export const ALICE_ID = 'a11ce000-0000-4000-8000-000000000001';
export const DEMO_REDIRECT = 'http://localhost:3000/callback';
export const CLI_REDIRECT = 'http://127.0.0.1:8765/callback';

export class Browser {
  readonly cookies = new Map<string, string>();
  /** `remoteAddress`: the client address the server sees (default 127.0.0.1), for per-address rules. */
  constructor(
    private readonly app: App,
    private readonly remoteAddress?: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  private remember(res: LightMyRequestResponse): void {
    for (const c of res.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      const expired = c.maxAge === 0 || (c.expires !== undefined && c.expires.getTime() < Date.now()) || c.value === '';
      if (expired) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const res = await this.app.inject({
      method: 'GET',
      url,
      cookies: Object.fromEntries(this.cookies),
      headers: this.headers,
      ...(this.remoteAddress ? { remoteAddress: this.remoteAddress } : {}),
    });
    this.remember(res);
    return res;
  }

  async post(url: string, form: Record<string, string>): Promise<LightMyRequestResponse> {
    const res = await this.app.inject({
      method: 'POST',
      url,
      cookies: Object.fromEntries(this.cookies),
      headers: { ...this.headers, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
      ...(this.remoteAddress ? { remoteAddress: this.remoteAddress } : {}),
    });
    this.remember(res);
    return res;
  }
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: s256(verifier) };
}

export type Params = Record<string, string | string[] | undefined>;

/** /authorize URL with valid defaults for demo-client; `undefined` removes a parameter, arrays repeat it. */
export function authorizeUrl(overrides: Params = {}, challenge = pkcePair().challenge): string {
  const params: Params = {
    response_type: 'code',
    client_id: 'demo-client',
    redirect_uri: DEMO_REDIRECT,
    scope: 'photos:read documents:read',
    state: 'st-123',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const value of Array.isArray(v) ? v : v === undefined ? [] : [v]) qs.append(k, value);
  }
  return `/authorize?${qs.toString()}`;
}

export function formField(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m?.[1]) throw new Error(`no ${name} field in page`);
  return m[1];
}

export function location(res: LightMyRequestResponse): URL {
  const loc = res.headers.location;
  if (typeof loc !== 'string') throw new Error(`expected a redirect, got ${res.statusCode}: ${res.body.slice(0, 300)}`);
  return new URL(loc, 'http://localhost:9000');
}

/** Submits the login form shown at `loginUrl`. */
export async function login(browser: Browser, loginUrl: string, username = 'alice', password = 'wonderland') {
  const page = await browser.get(loginUrl);
  // Without a pending request (the account login) the form has no request field.
  const request: Record<string, string> = /name="request"/.test(page.body)
    ? { request: formField(page.body, 'request') }
    : {};
  return browser.post('/interaction/login', { _csrf: formField(page.body, '_csrf'), ...request, username, password });
}

/** Answers the consent form shown at `consentUrl`. */
export async function decide(browser: Browser, consentUrl: string, decision: 'approve' | 'deny') {
  const page = await browser.get(consentUrl);
  return browser.post('/interaction/consent', {
    _csrf: formField(page.body, '_csrf'),
    request: formField(page.body, 'request'),
    decision,
  });
}

/** Runs the whole browser side (login if needed, approve if asked) and returns the code and its verifier. */
export async function obtainCode(app: App, options: { browser?: Browser; params?: Params } = {}) {
  const browser = options.browser ?? new Browser(app);
  const { verifier, challenge } = pkcePair();
  let res = await browser.get(authorizeUrl(options.params, challenge));
  let url = location(res);
  if (url.pathname === '/interaction/login') {
    res = await login(browser, url.pathname + url.search);
    url = location(res);
  }
  if (url.pathname === '/interaction/consent') {
    res = await decide(browser, url.pathname + url.search, 'approve');
    url = location(res);
  }
  const code = url.searchParams.get('code');
  if (!code) throw new Error(`no code in ${url.toString()}`);
  return { code, verifier, browser, redirect: url };
}

/** POST /oauth/token (or `url`) with a form body; `basic` adds client_secret_basic. */
export function tokenRequest(
  app: App,
  form: Record<string, string | string[]>,
  options: { basic?: [string, string]; headers?: Record<string, string>; url?: string } = {},
) {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const value of Array.isArray(v) ? v : [v]) body.append(k, value);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...options.headers };
  if (options.basic) {
    const enc = (s: string) => encodeURIComponent(s);
    headers.authorization = `Basic ${Buffer.from(`${enc(options.basic[0])}:${enc(options.basic[1])}`).toString('base64')}`;
  }
  return app.inject({ method: 'POST', url: options.url ?? '/oauth/token', headers, payload: body.toString() });
}
