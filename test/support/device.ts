// The person's side of the device authorization grant (RFC 8628 §3.3) for root tests: on their own browser they
// open the verification URI (or verification_uri_complete, the QR code's link), sign in, enter the user code
// if the page asks for it, and approve or deny on the consent page. Forms are found by what they hold (a
// password field, a user_code field, approve/deny buttons), not by their paths.
import { type Browser, type Page, forms, submission } from './browser.js';

export interface DeviceApproval {
  /** The user code to type when the page asks for one (verification_uri without the code). */
  userCode?: string;
  decision?: 'approve' | 'deny';
  username?: string;
  password?: string;
}

/** Walks from `url` to the page the AS shows after the decision; returns it (and every page seen, for asserts). */
export async function decideDevice(browser: Browser, url: string, options: DeviceApproval = {}): Promise<Page[]> {
  const { userCode, decision = 'approve', username = 'alice', password = 'wonderland' } = options;
  const seen: Page[] = [];
  let page = await browser.request(url);
  let decided = false;
  for (let i = 0; i < 12; i++) {
    seen.push(page);
    if (page.location && page.status >= 300 && page.status < 400) {
      page = await browser.request(new URL(page.location, page.url).href);
      continue;
    }
    if (decided) return seen;
    const posts = forms(page).filter((f) => f.method === 'POST');
    const login = posts.find((f) => 'password' in f.fields);
    if (login) {
      page = await browser.submit(login, { username, password });
      continue;
    }
    const consent = posts.find((f) => f.buttons.some((b) => /^(approve|allow)/i.test(b.text || b.value)));
    if (consent) {
      decided = true;
      page = await browser.submit(
        consent,
        submission(consent, {}, decision === 'approve' ? /^(approve|allow)/i : /^(deny|cancel|decline)/i),
      );
      continue;
    }
    // The code entry page: filled in already when the link was verification_uri_complete.
    const entry = posts.find((f) => 'user_code' in f.fields);
    if (entry && (userCode ?? entry.fields.user_code)) {
      page = await browser.submit(entry, { user_code: userCode ?? entry.fields.user_code! });
      continue;
    }
    break;
  }
  throw new Error(
    `the verification page flow stopped at ${page.url} (${page.status}): ${page.body.slice(0, 400)}\n` +
      `history: ${browser.history.join(', ')}`,
  );
}
