// One user agent for the tests, the benchmark and the workshop lab: a cookie jar with the browser's rules
// (tough-cookie: domain, path, expiry, Max-Age=0), manual redirects, and HTML forms read by a real parser
// (node-html-parser) instead of regular expressions. It is plain JavaScript with types beside it
// (user-agent.d.ts) because the benchmark runs under plain node, without a TypeScript loader.
//
// The transport is pluggable: `fetchTransport` (the default) talks HTTP; a test passes one built on
// `app.inject`, the benchmark one on its keep-alive agent. Every transport answers { status, headers, body }.
import { parse } from 'node-html-parser';
import { CookieJar } from 'tough-cookie';

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_HISTORY = 100;

/** HTTP through the global fetch, redirects not followed (the user agent decides). */
export async function fetchTransport({ method, url, headers, body, timeoutMs = DEFAULT_TIMEOUT_MS }) {
  const response = await fetch(url, {
    method,
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: response.status, headers: response.headers, body: await response.text(), raw: response };
}

/** Every header as a `Headers`, whatever the transport returned (a Headers, or a Node.js header object). */
function toHeaders(headers) {
  if (headers instanceof Headers) return headers;
  const out = new Headers();
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [String(value)]) out.append(name, v);
  }
  return out;
}

export class UserAgent {
  /**
   * @param {{ transport?: Function, baseUrl?: string, headers?: Record<string, string> }} options
   *   baseUrl: resolves relative URLs (and scopes cookies) when the transport takes paths, as app.inject does.
   */
  constructor({ transport = fetchTransport, baseUrl, headers = {} } = {}) {
    this.transport = transport;
    this.baseUrl = baseUrl;
    this.headers = headers;
    this.jar = new CookieJar();
    /** `METHOD url -> status` of the last requests (at most MAX_HISTORY), for failure messages. */
    this.history = [];
  }

  /** The cookie `name` this agent would send to `url` (undefined when none). */
  cookie(name, url = this.baseUrl) {
    return this.jar.getCookiesSync(new URL(url, this.baseUrl).href).find((c) => c.key === name)?.value;
  }

  /** Sets a cookie as if `url` had sent `Set-Cookie: setCookie`. */
  setCookie(setCookie, url = this.baseUrl) {
    this.jar.setCookieSync(setCookie, new URL(url, this.baseUrl).href, { ignoreError: true });
  }

  /**
   * One request, no redirect followed. `form` sends application/x-www-form-urlencoded (POST unless `method`
   * says otherwise). Resolves with a page: { status, url, location (absolute or null), headers, body, raw }.
   */
  async request(url, { method, form, headers = {}, body, ...rest } = {}) {
    const absolute = new URL(url, this.baseUrl).href;
    const cookie = this.jar.getCookieStringSync(absolute);
    const sent = { accept: 'text/html', ...this.headers, ...headers, ...(cookie ? { cookie } : {}) };
    let payload = body;
    if (form) {
      sent['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(form).toString();
    }
    const verb = method ?? (form ? 'POST' : 'GET');
    const answer = await this.transport({ method: verb, url: absolute, headers: sent, body: payload, ...rest });
    const responseHeaders = toHeaders(answer.headers);
    for (const setCookie of responseHeaders.getSetCookie()) {
      this.jar.setCookieSync(setCookie, absolute, { ignoreError: true });
    }
    this.history.push(`${verb} ${absolute} -> ${answer.status}`);
    // The last requests are enough for a failure message; a load driver makes millions.
    if (this.history.length > MAX_HISTORY) this.history.splice(0, this.history.length - MAX_HISTORY);
    const location = responseHeaders.get('location');
    return {
      status: answer.status,
      url: absolute,
      location: location ? new URL(location, absolute).href : null,
      headers: responseHeaders,
      body: answer.body,
      raw: answer.raw,
    };
  }

  get(url, options = {}) {
    return this.request(url, options);
  }

  post(url, form, options = {}) {
    return this.request(url, { ...options, form });
  }

  /**
   * Follows redirects with GET until an answer that is not one, or until `stop(url)` says the next URL is
   * not to be visited (a client's redirect URI). Returns every page on the way, the first included.
   */
  async follow(page, { max = 12, stop = () => false } = {}) {
    const pages = [page];
    let current = page;
    while (current.location && current.status >= 300 && current.status < 400 && !stop(new URL(current.location))) {
      if (pages.length > max) throw new Error(`more than ${max} redirects: ${this.history.join(', ')}`);
      current = await this.request(current.location);
      pages.push(current);
    }
    return pages;
  }

  /** Submits `form` (from `forms()`) with its fields, `values` on top, and `button`'s name=value if given. */
  submit(form, values = {}, button) {
    const fields = { ...form.fields, ...(button?.name ? { [button.name]: button.value } : {}), ...values };
    if (form.method === 'GET') {
      // HTML's form submission: a GET form replaces the action's query with its fields.
      const url = new URL(form.action);
      url.search = new URLSearchParams(fields).toString();
      return this.request(url.href);
    }
    return this.request(form.action, { method: form.method, form: fields });
  }
}

/**
 * Every <form> of a page: its action resolved against `baseUrl`, its method (upper case), the named inputs
 * other than buttons with their values, and its submit buttons.
 */
export function forms(html, baseUrl) {
  const root = parse(html);
  return root.querySelectorAll('form').map((form) => {
    const fields = {};
    const buttons = [];
    for (const control of form.querySelectorAll('input, button, textarea, select')) {
      const name = control.getAttribute('name');
      const type = (control.getAttribute('type') ?? (control.tagName === 'BUTTON' ? 'submit' : 'text')).toLowerCase();
      if (type === 'submit' || control.tagName === 'BUTTON') {
        buttons.push({ name: name ?? '', value: control.getAttribute('value') ?? '', text: control.text.trim() });
      } else if (name && !((type === 'checkbox' || type === 'radio') && !control.hasAttribute('checked'))) {
        const value =
          control.tagName === 'TEXTAREA'
            ? control.text
            : control.tagName === 'SELECT'
              ? ((control.querySelector('option[selected]') ?? control.querySelector('option'))?.getAttribute(
                  'value',
                ) ?? '')
              : (control.getAttribute('value') ?? '');
        fields[name] = value;
      }
    }
    return {
      action: new URL(form.getAttribute('action') ?? baseUrl, baseUrl).href,
      method: (form.getAttribute('method') ?? 'GET').toUpperCase(),
      fields,
      buttons,
    };
  });
}

/** The first form whose action's path ends with `path` (e.g. '/interaction/login'); throws when none does. */
export function formFor(page, path) {
  const found = forms(page.body, page.url).find((f) => new URL(f.action).pathname.endsWith(path));
  if (!found)
    throw new Error(`no form posting to ${path} on ${page.url} (${page.status}): ${textOf(page.body).slice(0, 300)}`);
  return found;
}

/** The page's text (of <body> when there is one), block elements apart, whitespace collapsed. */
export function textOf(html) {
  const root = parse(html);
  return (root.querySelector('body') ?? root).structuredText.replace(/\s+/g, ' ').trim();
}

/** The heading and the first paragraph after it (an error page's title and detail); <title> without <h1>. */
export function pageSummary(html) {
  const root = parse(html);
  const clean = (s) => s.replace(/\s+/g, ' ').trim();
  const h1 = root.querySelector('h1');
  const title = clean(h1?.text ?? root.querySelector('title')?.text ?? '');
  let detail;
  if (h1) {
    // The first <p> that comes after the heading in document order.
    const all = root.querySelectorAll('h1, p');
    const p = all.slice(all.indexOf(h1) + 1).find((el) => el.tagName === 'P');
    detail = clean(p?.text ?? '');
  } else {
    detail = clean(root.querySelector('p')?.text ?? '');
  }
  return { title, detail };
}
