// Workshop lab: a small cookie-jar "browser" that plays the resource owner at the authorization server, so a
// lab run needs no second window: it follows redirects, signs in at the AS login form (RFC 6749 §3.1: the AS
// authenticates the resource owner) and presses "Allow" on the consent page, and stops where the AS sends
// the browser back to the client's redirect URI (or shows an error page instead, RFC 6749 §4.1.2.1). For the
// device grant it plays the person at the verification URI (RFC 8628 §3.3), who approves or only reads the page.
// Only used in workshop mode, with the demo users named in LAB_USERNAME / LAB_ATTACKER_USERNAME; passwords
// are sent to the AS only, and never recorded. Like a real browser it sends no traceparent: the AS attaches
// this leg to the trace when the code is redeemed (as the servers' workshop tracing does for every flow).
// The browser is @quartet/common's UserAgent over fetch: a tough-cookie jar with the browser's cookie rules,
// manual redirects, and forms read by an HTML parser.
import { UserAgent, forms, pageSummary, requestIdHeaders, textOf, type Form, type Page } from '@quartet/common';
import type { Role, StepInput } from './inspector/store.js';

/** Per request: the AS answers a browser in milliseconds; a lab run must not hang on one that does not. */
const TIMEOUT_MS = 5000;
/** Redirects and form posts one authorization may take (login, consent, and the redirects between them). */
const MAX_HOPS = 12;

export type AuthorizeOutcome =
  | { kind: 'redirect'; status: number; params: URLSearchParams; location: string }
  | { kind: 'page'; status: number; title: string; detail: string };

/** What the person saw at the verification URI (RFC 8628 §3.3): the consent page, or the page after deciding. */
export interface DevicePage {
  status: number;
  title: string;
  detail: string;
  /** The page's sentences that warn about codes from elsewhere (RFC 8628 §5.4), as the person reads them. */
  warning: string | undefined;
  /** True when this is the consent page (the browser stopped there without deciding). */
  consent: boolean;
}

/** The approve/deny form of a consent page: the one with a decision=approve button. */
const consentForm = (found: Form[]) =>
  found.find((f) => f.buttons.some((b) => b.name === 'decision' && b.value === 'approve'));

/** The sentences of a page that tell the person to enter only a code from a device in front of them. */
function deviceWarning(html: string): string | undefined {
  // Block by block (paragraphs, list items …), then sentence by sentence: the words of one warning only.
  const sentences = html
    .split(/<\/?(?:p|li|ul|ol|h[1-6]|div|form|section|main|label|button)\b[^>]*>/i)
    .map((block) => textOf(block).trim())
    .flatMap((text) => text.split(/(?<=[.!])\s+/))
    .filter((s) => /in front of you|did not start|didn't start|someone (else )?(sent|gave)/i.test(s));
  return sentences.length ? sentences.join(' ').slice(0, 400) : undefined;
}

export class LabBrowser {
  private readonly agent = new UserAgent();

  constructor(
    private readonly user: { username: string; password: string; label: string },
    /** The client's redirect URI: the browser stops there instead of calling the client. */
    private readonly redirectUri: string,
    private readonly record: (step: StepInput) => void,
  ) {}

  /** Each request carries the x-request-id of the lab run's request, so the AS logs it under the same reqId. */
  private options() {
    return { headers: requestIdHeaders(), timeoutMs: TIMEOUT_MS };
  }

  private isRedirectUri(url: URL): boolean {
    return `${url.origin}${url.pathname}` === this.redirectUri;
  }

  /** RFC 6749 §3.1: the AS authenticates the resource owner at its login form. */
  private signIn(login: Form): Promise<Page> {
    this.record({
      role: 'resource owner',
      to: 'authorization server',
      title: `Signs in as ${this.user.username} (${this.user.label}, played by the lab)`,
      outcome: 'info',
    });
    return this.agent.post(
      login.action,
      { ...login.fields, username: this.user.username, password: this.user.password },
      this.options(),
    );
  }

  /** Walks from the authorization request to the redirect back to the client, or to the page the AS shows. */
  async authorize(authorizationUrl: string): Promise<AuthorizeOutcome> {
    const role: Role = 'resource owner';
    let page: Page = await this.agent.get(authorizationUrl, this.options());
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      if (page.status >= 300 && page.status < 400) {
        const location = new URL(page.location ?? '', page.url);
        if (this.isRedirectUri(location))
          return { kind: 'redirect', status: page.status, params: location.searchParams, location: location.href };
        page = await this.agent.get(location.href, this.options());
        continue;
      }
      const found = forms(page.body, page.url);
      const login = found.find((f) => 'password' in f.fields && /\/login\b/.test(f.action));
      const consent = found.find((f) => /\/consent\b/.test(f.action));
      if (page.status === 200 && login) {
        page = await this.signIn(login);
        continue;
      }
      if (page.status === 200 && consent) {
        this.record({
          role,
          to: 'authorization server',
          title: `Approves the requested scopes (${this.user.username}, played by the lab)`,
          outcome: 'info',
        });
        page = await this.agent.post(consent.action, { ...consent.fields, decision: 'approve' }, this.options());
        continue;
      }
      return { kind: 'page', status: page.status, ...pageSummary(page.body) };
    }
    return {
      kind: 'page',
      status: page.status,
      title: 'Too many redirects',
      detail: `The lab browser gave up after ${MAX_HOPS} steps.`,
    };
  }

  /**
   * The person at the verification URI on their own browser (RFC 8628 §3.3): signs in when asked, submits the
   * user code when the page asks to confirm it, and at the consent page either approves (their own device) or
   * only reads it and stops (a link someone else sent them: the lab never approves an attacker's device).
   */
  async verifyDevice(url: string, decision: 'approve' | 'look'): Promise<DevicePage> {
    let page: Page = await this.agent.get(url, this.options());
    let decided = false;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      if (page.status >= 300 && page.status < 400) {
        page = await this.agent.get(new URL(page.location ?? '', page.url).href, this.options());
        continue;
      }
      const found = decided || page.status !== 200 ? [] : forms(page.body, page.url);
      const login = found.find((f) => 'password' in f.fields && /\/login\b/.test(f.action));
      const consent = consentForm(found);
      const codeEntry = found.find((f) => f.fields.user_code);
      if (login) {
        page = await this.signIn(login);
        continue;
      }
      if (consent && decision === 'look')
        return { status: page.status, ...pageSummary(page.body), warning: deviceWarning(page.body), consent: true };
      if (consent) {
        this.record({
          role: 'resource owner',
          to: 'authorization server',
          title: `Approves the device's request (${this.user.username}, played by the lab)`,
          outcome: 'info',
        });
        decided = true;
        page = await this.agent.post(consent.action, { ...consent.fields, decision: 'approve' }, this.options());
        continue;
      }
      if (codeEntry) {
        this.record({
          role: 'resource owner',
          to: 'authorization server',
          title: `Confirms the user code ${codeEntry.fields.user_code} (played by the lab)`,
          outcome: 'info',
        });
        page = await this.agent.post(codeEntry.action, codeEntry.fields, this.options());
        continue;
      }
      return { status: page.status, ...pageSummary(page.body), warning: deviceWarning(page.body), consent: false };
    }
    return {
      status: page.status,
      title: 'Too many redirects',
      detail: `The lab browser gave up after ${MAX_HOPS} steps.`,
      warning: undefined,
      consent: false,
    };
  }
}
