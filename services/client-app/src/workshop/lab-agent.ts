// Workshop lab: a small cookie-jar "browser" that plays the resource owner at the authorization server, so a
// lab run needs no second window: it follows redirects, signs in at the AS login form (RFC 6749 §3.1: the AS
// authenticates the resource owner) and presses "Allow" on the consent page, and stops where the AS sends
// the browser back to the client's redirect URI (or shows an error page instead, RFC 6749 §4.1.2.1).
// Only used in workshop mode, with the demo users named in LAB_USERNAME / LAB_ATTACKER_USERNAME; passwords
// are sent to the AS only, and never recorded. Like a real browser it sends no traceparent: the AS attaches
// this leg to the trace when the code is redeemed (as the servers' workshop tracing does for every flow).
import { requestIdHeaders } from '@quartet/common';
import type { Role, StepInput } from './inspector/store.js';

const TIMEOUT_MS = 5000;
const MAX_HOPS = 12;

export type AuthorizeOutcome =
  | { kind: 'redirect'; status: number; params: URLSearchParams; location: string }
  | { kind: 'page'; status: number; title: string; detail: string };

interface ParsedForm {
  action: string;
  fields: Record<string, string>;
}

const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}\\s*=\\s*"([^"]*)"`, 'i').exec(tag);
  return m ? decode(m[1]!) : undefined;
};
const strip = (html: string) =>
  decode(html.replace(/<[^>]+>/g, ''))
    .replace(/\s+/g, ' ')
    .trim();

export function parseForms(html: string, baseUrl: string): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const fields: Record<string, string> = {};
    for (const input of m[2]!.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input[0], 'name');
      if (name) fields[name] = attr(input[0], 'value') ?? '';
    }
    forms.push({ action: new URL(attr(m[1]!, 'action') ?? baseUrl, baseUrl).href, fields });
  }
  return forms;
}

/** The heading and first paragraph of an HTML page (the AS error page: title + detail). */
export function pageSummary(html: string): { title: string; detail: string } {
  const h1 = /<h1\b[^>]*>([\s\S]*?)<\/h1>/i.exec(html)?.[1];
  const title = h1 !== undefined ? strip(h1) : strip(/<title\b[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1] ?? '');
  const afterH1 = h1 !== undefined ? html.slice(html.search(/<\/h1>/i)) : html;
  const p = /<p\b[^>]*>([\s\S]*?)<\/p>/i.exec(afterH1)?.[1];
  return { title, detail: p !== undefined ? strip(p) : '' };
}

export class LabBrowser {
  private readonly jar = new Map<string, string>();

  constructor(
    private readonly user: { username: string; password: string; label: string },
    /** The client's redirect URI: the browser stops there instead of calling the client. */
    private readonly redirectUri: string,
    private readonly record: (step: StepInput) => void,
  ) {}

  private async request(url: string, form?: Record<string, string>): Promise<Response> {
    const headers: Record<string, string> = { accept: 'text/html', ...requestIdHeaders() };
    if (this.jar.size) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      headers,
      redirect: 'manual',
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair, ...attrs] = cookie.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return response;
  }

  private isRedirectUri(url: URL): boolean {
    return `${url.origin}${url.pathname}` === this.redirectUri;
  }

  /** Walks from the authorization request to the redirect back to the client, or to the page the AS shows. */
  async authorize(authorizationUrl: string): Promise<AuthorizeOutcome> {
    const role: Role = 'resource owner';
    let response = await this.request(authorizationUrl);
    let url = authorizationUrl;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        const location = new URL(response.headers.get('location') ?? '', url);
        if (this.isRedirectUri(location))
          return { kind: 'redirect', status: response.status, params: location.searchParams, location: location.href };
        url = location.href;
        response = await this.request(url);
        continue;
      }
      const html = await response.text();
      const forms = parseForms(html, url);
      const login = forms.find((f) => 'password' in f.fields && /\/login\b/.test(f.action));
      const consent = forms.find((f) => /\/consent\b/.test(f.action));
      if (response.status === 200 && login) {
        this.record({
          role,
          to: 'authorization server',
          title: `Signs in as ${this.user.username} (${this.user.label}, played by the lab)`,
          outcome: 'info',
        });
        url = login.action;
        response = await this.request(url, {
          ...login.fields,
          username: this.user.username,
          password: this.user.password,
        });
        continue;
      }
      if (response.status === 200 && consent) {
        this.record({
          role,
          to: 'authorization server',
          title: `Approves the requested scopes (${this.user.username}, played by the lab)`,
          outcome: 'info',
        });
        url = consent.action;
        response = await this.request(url, { ...consent.fields, decision: 'approve' });
        continue;
      }
      return { kind: 'page', status: response.status, ...pageSummary(html) };
    }
    await response.body?.cancel();
    return {
      kind: 'page',
      status: response.status,
      title: 'Too many redirects',
      detail: `The lab browser gave up after ${MAX_HOPS} steps.`,
    };
  }
}
