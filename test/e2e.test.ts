// End-to-end: the three services run as separate processes on loopback — against real PostgreSQL and Redis
// when TEST_DATABASE_URL / TEST_REDIS_URL are set, else on the embedded backends — and a cookie-jar
// "browser" walks the whole flow over HTTP:
// home -> connect -> /authorize -> login -> consent -> callback -> photos and documents.
import t from 'tap';
import { Browser, forms, submission, type Page } from './support/browser.js';
import { startStack } from './support/stack.js';

t.setTimeout(180_000);

const { urls } = await startStack(t, { name: 'e2e' });

/** Presses the client app's "Connect my photos" control (a form or a link) and follows the redirects. */
async function connect(browser: Browser): Promise<Page[]> {
  const home = await browser.request(`${urls.client}/`);
  const form = forms(home).find((f) => /\/connect/.test(f.action));
  const first = form ? await browser.submit(form) : await browser.request(`${urls.client}/connect`);
  return browser.follow(first);
}

const last = <T>(xs: T[]): T => xs[xs.length - 1]!;

t.test('alice connects the client app and sees her photos and documents', async (t) => {
  const browser = new Browser();
  const home = await browser.request(`${urls.client}/`);
  t.equal(home.status, 200);
  t.match(home.body, /Connect my photos/);
  t.match(home.body, /resource owner/i, 'home page explains the roles');

  const toLogin = await connect(browser);
  const authorize = toLogin.find((p) => p.url.startsWith(`${urls.auth}/authorize`));
  t.ok(authorize, 'the client sent the browser to the authorization endpoint');
  const params = new URL(authorize!.url).searchParams;
  t.equal(params.get('response_type'), 'code');
  t.equal(params.get('client_id'), 'demo-client');
  t.equal(params.get('code_challenge_method'), 'S256');
  t.match(params.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  t.ok(params.get('state'));

  const loginPage = last(toLogin);
  t.equal(loginPage.status, 200);
  t.match(loginPage.url, urls.auth, 'login page is served by the authorization server');
  const loginForm = forms(loginPage).find((f) => 'password' in f.fields || /password/.test(loginPage.body));
  t.ok(loginForm, 'login form present');

  // A wrong password is refused without saying which part was wrong.
  const wrong = await browser.request(loginForm!.action, {
    form: submission(loginForm!, { username: 'alice', password: 'not-her-password' }),
  });
  t.ok([200, 303, 400, 401].includes(wrong.status));
  const wrongPage = last(await browser.follow(wrong));
  t.match(wrongPage.body, /(invalid|incorrect|wrong)/i);
  t.notMatch(wrongPage.body, /(unknown user|wrong password|no such user)/i);

  const retryForm = forms(wrongPage).find((f) => /password/.test(wrongPage.body) && f.method === 'POST') ?? loginForm!;
  const loggedIn = await browser.request(retryForm.action, {
    form: submission(retryForm, { username: 'alice', password: 'wonderland' }),
  });
  t.equal(loggedIn.status, 303, 'credential POST answers 303');
  const consentPage = last(await browser.follow(loggedIn));
  t.equal(consentPage.status, 200);
  t.match(consentPage.body, /photos/i, 'consent page lists the requested scopes');
  const consentForm = forms(consentPage).find((f) => f.method === 'POST');
  t.ok(consentForm, 'consent form present');

  const approved = await browser.request(consentForm!.action, {
    form: submission(consentForm!, {}, /^(approve|allow|yes)/i),
  });
  t.equal(approved.status, 303);
  const callback = new URL(approved.location!);
  t.equal(`${callback.origin}${callback.pathname}`, `${urls.client}/callback`);
  t.match(callback.searchParams.get('code'), /^[A-Za-z0-9_-]{43,}$/);
  t.equal(callback.searchParams.get('iss'), urls.auth, 'RFC 9207 iss in the authorization response');
  t.equal(callback.searchParams.get('state'), params.get('state'));

  const afterCallback = await browser.follow(await browser.request(approved.location!));
  const photos = last(afterCallback);
  t.equal(photos.status, 200, `photos page (${browser.history.join(', ')})`);
  t.match(photos.body, /<img\b[^>]*src="[^"]*\/photos\/[^"]+\/image"/, 'photos are shown as images');
  t.notMatch(photos.body, /eyJ[A-Za-z0-9_-]{10,}\.eyJ/, 'no token reaches the browser');
  for (const value of browser.cookieValues()) t.notMatch(value, /^eyJ/, 'no token in a cookie');

  const img = /<img\b[^>]*src="([^"]*\/photos\/[^"]+\/image)"/.exec(photos.body)![1]!;
  const imgRes = await fetch(new URL(img, urls.client), {
    headers: { cookie: browser.cookieHeader(urls.client) },
  });
  t.equal(imgRes.status, 200);
  t.match(imgRes.headers.get('content-type'), /^image\//);
  const bytes = Buffer.from(await imgRes.arrayBuffer());
  t.same([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG image');

  const documents = last(await browser.follow(await browser.request(`${urls.client}/documents`)));
  t.equal(documents.status, 200);
  t.match(documents.body, /<a\b[^>]*href="\/documents\/[^"]+"/, 'documents are listed');

  // Returning: the login session and the stored consent mean no login or consent page this time.
  const again = await connect(browser);
  t.ok(
    again.some((p) => p.url.startsWith(`${urls.client}/callback`)),
    'went straight back to the callback',
  );
  t.notOk(
    again.some((p) => p.status === 200 && p.url.startsWith(urls.auth)),
    'no login or consent page shown',
  );
  t.equal(last(again).status, 200);

  // Logout clears the client session: the photos page sends the user home.
  const homeAgain = await browser.request(`${urls.client}/`);
  const logoutForm =
    forms(homeAgain).find((f) => /logout/.test(f.action)) ?? forms(last(again)).find((f) => /logout/.test(f.action));
  t.ok(logoutForm, 'logout form present');
  const out = await browser.request(logoutForm!.action, { form: submission(logoutForm!) });
  t.equal(out.status, 303);
  const afterLogout = await browser.request(`${urls.client}/photos`);
  t.ok(afterLogout.status >= 300 && afterLogout.status < 400, 'photos require connecting again');

  // The signed-out page offers to end the authorization server's login session too; after that, the next
  // "Connect" asks for the password again.
  const signedOut = last(await browser.follow(out));
  t.match(signedOut.body, /You are signed out of this app/);
  const link = /href="([^"]*\/interaction\/logout\?client_id=demo-client)"/.exec(signedOut.body)?.[1];
  t.ok(link?.startsWith(urls.auth), "a link to the authorization server's sign-out page");
  const ask = await browser.request(link!.replace(/&amp;/g, '&'));
  t.match(ask.body, /Sign out\?/);
  const signOutForm = forms(ask).find((f) => /\/interaction\/logout/.test(f.action))!;
  const done = await browser.request(new URL(signOutForm.action, urls.auth).href, { form: submission(signOutForm) });
  t.equal(done.status, 200);
  t.match(done.body, /You are signed out/);
  const reconnect = await connect(browser);
  t.ok(/name="password"/.test(last(reconnect).body), 'the next Connect shows the login page');
});

t.test('the resource server trusts only tokens signed by the authorization server', async (t) => {
  const res = await fetch(`${urls.resource}/photos`, {
    headers: { authorization: 'Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJhbGljZSJ9.' },
  });
  t.equal(res.status, 401);
  t.match(res.headers.get('www-authenticate'), /error="invalid_token"/);
  const jwks = (await (await fetch(`${urls.auth}/.well-known/jwks.json`)).json()) as {
    keys: Record<string, unknown>[];
  };
  t.ok(jwks.keys.length >= 1);
  t.notOk(
    jwks.keys.some((k) => 'd' in k),
    'JWKS holds public keys only',
  );
});

t.test('a denied consent sends the user back with access_denied', async (t) => {
  const browser = new Browser();
  const toLogin = await connect(browser);
  const loginForm = forms(last(toLogin)).find((f) => f.method === 'POST')!;
  const consentPage = last(
    await browser.follow(
      await browser.request(loginForm.action, {
        form: submission(loginForm, { username: 'bob', password: 'builder' }),
      }),
    ),
  );
  const consentForm = forms(consentPage).find((f) => f.method === 'POST')!;
  const denied = await browser.request(consentForm.action, {
    form: submission(consentForm, {}, /^(deny|cancel|no|decline)/i),
  });
  t.equal(denied.status, 303);
  const back = new URL(denied.location!);
  t.equal(back.searchParams.get('error'), 'access_denied');
  t.equal(back.searchParams.get('iss'), urls.auth);
  const page = last(await browser.follow(await browser.request(denied.location!)));
  t.match(page.body, /(declined|denied|did not|didn't)/i, 'the client app explains the refusal');
});
