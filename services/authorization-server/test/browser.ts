// A browser for app.inject: @quartet/common's UserAgent (a tough-cookie jar, forms read with node-html-parser)
// over app.inject, and the authorization flow walked the way a user would. Responses are app.inject's own, so
// tests read statusCode, headers, body and json() as from app.inject.
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { UserAgent, formFor, forms, type Page } from '@quartet/common';
import type { App } from '../src/app.js';
import { s256 } from '../src/lib/pkce.js';

export const ALICE_ID = 'a11ce000-0000-4000-8000-000000000001';
export const DEMO_REDIRECT = 'http://localhost:3000/callback';
export const CLI_REDIRECT = 'http://127.0.0.1:8765/callback';
/** Where the browser believes the authorization server is (app.inject takes the path). */
export const BASE_URL = 'http://localhost:9000';
/** The cookies the authorization server sets (the CSRF one is scoped to /interaction). */
const COOKIE_URL = `${BASE_URL}/interaction/`;
const KNOWN_COOKIES = ['quartet_as_session', 'quartet_as_csrf'];

export class Browser {
  readonly agent: UserAgent<LightMyRequestResponse>;

  /** `remoteAddress`: the client address the server sees (default 127.0.0.1), for per-address rules. */
  constructor(app: App, remoteAddress?: string, headers: Record<string, string> = {}) {
    this.agent = new UserAgent<LightMyRequestResponse>({
      baseUrl: BASE_URL,
      headers,
      transport: async ({ method, url, headers, body }) => {
        const target = new URL(url);
        const res = await app.inject({
          method: method as 'GET' | 'POST',
          url: target.pathname + target.search,
          headers,
          ...(body !== undefined ? { payload: body } : {}),
          ...(remoteAddress ? { remoteAddress } : {}),
        });
        return { status: res.statusCode, headers: res.headers, body: res.body, raw: res };
      },
    });
  }

  /** The value of cookie `name` this browser would send to the authorization server's pages. */
  cookie(name: string): string | undefined {
    return this.agent.cookie(name, COOKIE_URL);
  }

  /** Every authorization server cookie value this browser holds. */
  cookieValues(): string[] {
    return KNOWN_COOKIES.map((name) => this.cookie(name)).filter((v): v is string => v !== undefined);
  }

  /** Plants a cookie as if the server had set it (`name=value`, path /). */
  plantCookie(name: string, value: string): void {
    this.agent.setCookie(`${name}=${value}; Path=/`, BASE_URL);
  }

  /** Drops a cookie (path /), as if the server had expired it. */
  forgetCookie(name: string): void {
    this.agent.setCookie(`${name}=; Path=/; Max-Age=0`, BASE_URL);
  }

  /** GET, as a UserAgent page (for its forms). */
  open(url: string): Promise<Page<LightMyRequestResponse>> {
    return this.agent.get(url);
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    return (await this.agent.get(url)).raw!;
  }

  async post(url: string, form: Record<string, string>): Promise<LightMyRequestResponse> {
    return (await this.agent.post(url, form)).raw!;
  }

  /** Submits the form of `page` whose action ends with `path`, with `values` on top of its fields. */
  async submit(page: Page, path: string, values: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return (await this.agent.submit(formFor(page, path), values)).raw!;
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

/** The value of the field `name` in the first form of the page that has one. */
export function formField(html: string, name: string): string {
  const value = forms(html, BASE_URL).find((form) => form.fields[name] !== undefined)?.fields[name];
  if (!value) throw new Error(`no ${name} field in page`);
  return value;
}

export function location(res: LightMyRequestResponse): URL {
  const loc = res.headers.location;
  if (typeof loc !== 'string') throw new Error(`expected a redirect, got ${res.statusCode}: ${res.body.slice(0, 300)}`);
  return new URL(loc, BASE_URL);
}

/** Submits the login form shown at `loginUrl` (with its request field when there is a pending request). */
export async function login(browser: Browser, loginUrl: string, username = 'alice', password = 'wonderland') {
  return browser.submit(await browser.open(loginUrl), '/interaction/login', { username, password });
}

/** Answers the consent form shown at `consentUrl`. */
export async function decide(browser: Browser, consentUrl: string, decision: 'approve' | 'deny') {
  return browser.submit(await browser.open(consentUrl), '/interaction/consent', { decision });
}

/**
 * Runs the whole browser side (login if needed, approve if asked) and returns the code and its verifier. `url`: a
 * ready authorization URL instead (a pushed request's request_uri), whose PKCE pair is the caller's.
 */
export async function obtainCode(app: App, options: { browser?: Browser; params?: Params; url?: string } = {}) {
  const browser = options.browser ?? new Browser(app);
  const { verifier, challenge } = pkcePair();
  let res = await browser.get(options.url ?? authorizeUrl(options.params, challenge));
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
