// A tiny "browser" for end-to-end tests: fetch with a cookie jar, manual redirects, and HTML form reading.
// Cookies are keyed by name only because every Quartet cookie name is distinct (cookies on localhost are
// shared across ports, which is exactly why the services use distinct names).

export interface Page {
  status: number;
  url: string;
  location: string | null;
  headers: Headers;
  body: string;
}

export class Browser {
  readonly jar = new Map<string, string>();
  readonly history: string[] = [];

  private cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private store(headers: Headers): void {
    for (const c of headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()),
      );
      if (expired || value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page> {
    const headers: Record<string, string> = { cookie: this.cookieHeader(), accept: 'text/html' };
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    this.store(res.headers);
    this.history.push(`${init.method ?? (init.form ? 'POST' : 'GET')} ${url} -> ${res.status}`);
    const location = res.headers.get('location');
    return {
      status: res.status,
      url,
      location: location ? new URL(location, url).toString() : null,
      headers: res.headers,
      body: await res.text(),
    };
  }

  /** Follows redirects (GET) until a non-redirect answer; returns every page on the way. */
  async follow(page: Page, max = 10): Promise<Page[]> {
    const pages = [page];
    let current = page;
    for (let i = 0; i < max && current.location && current.status >= 300 && current.status < 400; i++) {
      current = await this.request(current.location);
      pages.push(current);
    }
    return pages;
  }
}

export interface Form {
  action: string;
  method: string;
  fields: Record<string, string>;
  buttons: { name: string; value: string; text: string }[];
}

const attr = (tag: string, name: string): string | undefined => {
  const m = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i').exec(tag);
  return m ? decode(m[2] ?? m[3] ?? '') : undefined;
};
const decode = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** Reads every <form> of a page: its action (resolved), hidden/text inputs, and submit buttons. */
export function forms(page: Page): Form[] {
  const result: Form[] = [];
  for (const m of page.body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const tag = m[1]!;
    const inner = m[2]!;
    const fields: Record<string, string> = {};
    for (const input of inner.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input[0], 'name');
      const type = (attr(input[0], 'type') ?? 'text').toLowerCase();
      if (!name || type === 'submit') continue;
      fields[name] = attr(input[0], 'value') ?? '';
    }
    const buttons = [...inner.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)].map((b) => ({
      name: attr(b[0], 'name') ?? '',
      value: attr(b[0], 'value') ?? '',
      text: b[2]!.replace(/<[^>]+>/g, '').trim(),
    }));
    for (const input of inner.matchAll(/<input\b[^>]*>/gi)) {
      if ((attr(input[0], 'type') ?? '').toLowerCase() === 'submit') {
        buttons.push({
          name: attr(input[0], 'name') ?? '',
          value: attr(input[0], 'value') ?? '',
          text: attr(input[0], 'value') ?? '',
        });
      }
    }
    result.push({
      action: new URL(attr(tag, 'action') ?? page.url, page.url).toString(),
      method: (attr(tag, 'method') ?? 'get').toLowerCase(),
      fields,
      buttons,
    });
  }
  return result;
}

/** Submits `form` pressing the button whose text/value matches `button`, with extra field values. */
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
    const form = forms(page).find((f) => f.method === 'post');
    if (!form) break;
    const isLogin = /\/login/.test(form.action);
    page = await browser.request(form.action, {
      form: isLogin ? submission(form, { username, password }) : submission(form, {}, /^(approve|allow)/i),
    });
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
  const form = forms(home).find((f) => /\/connect/.test(f.action));
  const connect = form
    ? await browser.request(form.action, form.method === 'post' ? { form: submission(form) } : {})
    : await browser.request(`${clientUrl}/connect`);
  if (!connect.location) throw new Error(`"Connect" did not redirect: ${connect.status} ${connect.body.slice(0, 300)}`);
  const callback = await authorizeAs(browser, connect.location, `${clientUrl}/callback`, username, password);
  return (await browser.follow(await browser.request(callback))).at(-1)!;
}
