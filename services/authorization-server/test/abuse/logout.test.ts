// Signing out of the authorization server: a CSRF-protected POST ends the login session (server-side and the
// cookie); GET asks first; the connected-apps and consent pages carry the button; the metadata advertises
// it as end_session_endpoint; with client_id the page names the app and links back to a registered origin.
import t from 'tap';
import { forms, textOf } from '@quartet/common';
import { buildTestApp } from '../helper.js';
import { BASE_URL, Browser, authorizeUrl, formField, location, login, obtainCode } from '../browser.js';

const formActions = (html: string) => forms(html, BASE_URL).map((f) => `${f.method} ${new URL(f.action).pathname}`);

t.test('sign out ends the login session: the next authorization asks for the password again', async (t) => {
  const { app } = await buildTestApp(t);
  const { browser } = await obtainCode(app);
  const sessionCookie = browser.cookie('quartet_as_session');
  t.ok(sessionCookie);
  t.ok(location(await browser.get(authorizeUrl())).searchParams.get('code'), 'signed in: straight back with a code');

  const apps = await browser.get('/interaction/connected-apps');
  t.ok(formActions(apps.body).includes('POST /interaction/logout'), 'a sign-out button on connected apps');
  const ask = await browser.get('/interaction/logout?client_id=demo-client');
  t.equal(ask.statusCode, 200);
  t.match(textOf(ask.body), /Sign out\?/);
  t.match(textOf(ask.body), /Quartet Photo Printer/);
  t.match(ask.body, /href="http:\/\/localhost:3000\/"/, 'back link to the origin of a registered redirect URI');

  const forged = await browser.post('/interaction/logout', { client_id: 'demo-client' });
  t.equal(forged.statusCode, 403, 'no CSRF token: refused');
  t.ok(location(await browser.get(authorizeUrl())).searchParams.get('code'), 'still signed in');

  const done = await browser.post('/interaction/logout', {
    _csrf: formField(ask.body, '_csrf'),
    client_id: 'demo-client',
  });
  t.equal(done.statusCode, 200);
  t.match(textOf(done.body), /You are signed out/);
  t.match(textOf(done.body), /Back to Quartet Photo Printer/);
  t.notOk(browser.cookie('quartet_as_session'), 'cookie cleared');
  t.equal(
    location(await browser.get(authorizeUrl())).pathname,
    '/interaction/login',
    'the next request asks to log in',
  );
  // The old session id is dead on the server, not just forgotten by this browser.
  const replay = await app.inject({
    url: '/interaction/connected-apps',
    cookies: { quartet_as_session: sessionCookie! },
  });
  t.equal(replay.statusCode, 303);
  t.equal(replay.headers.location, '/interaction/login');
});

t.test('the sign-out page for an unknown client or without a session', async (t) => {
  const { app } = await buildTestApp(t);
  const anonymous = await app.inject({ url: '/interaction/logout?client_id=https%3A%2F%2Fevil.example' });
  t.equal(anonymous.statusCode, 200);
  t.match(textOf(anonymous.body), /You are not signed in/);
  t.notMatch(anonymous.body, /evil\.example/, 'nothing from the request becomes a link');
  const browser = new Browser(app);
  await login(browser, '/interaction/login');
  const ask = await browser.get('/interaction/logout?client_id=nobody');
  t.notMatch(textOf(ask.body), /Stay signed in, back to/);
});

t.test('the consent page offers to sign out; the metadata advertises end_session_endpoint', async (t) => {
  const { app } = await buildTestApp(t);
  const browser = new Browser(app);
  let res = await browser.get(authorizeUrl({ scope: 'documents:write' }));
  res = await login(browser, location(res).pathname + location(res).search);
  const consent = await browser.get(location(res).pathname + location(res).search);
  t.match(textOf(consent.body), /Not alice\? Sign out/);
  const metadata = (await app.inject('/.well-known/oauth-authorization-server')).json();
  t.equal(metadata.end_session_endpoint, `${app.config.ISSUER}/interaction/logout`);
});
