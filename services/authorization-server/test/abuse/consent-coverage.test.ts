// A consent covers client + scopes + resource (RFC 8707): a request for a resource not yet approved asks
// again, and the consent page names the resource and the host the browser goes back to. Public clients are
// never approved silently (RFC 6749 §10.2, RFC 8252 §8.6): a client without a secret gets the consent page on
// every authorization request, stored consent or not.
import t from 'tap';
import { buildTestApp } from '../helper.js';
import { ALICE_ID, Browser, CLI_REDIRECT, authorizeUrl, decide, location, login } from '../browser.js';

const OTHER_API = 'http://localhost:9200';

t.test('approving one resource does not approve another', async (t) => {
  const { app, config } = await buildTestApp(t, { RESOURCES: OTHER_API });
  const browser = new Browser(app);
  let res = await browser.get(authorizeUrl({ scope: 'photos:read' }));
  res = await login(browser, location(res).pathname + location(res).search);
  const consent = location(res);
  t.equal(consent.pathname, '/interaction/consent');
  const page = await browser.get(consent.pathname + consent.search);
  t.match(page.body, new RegExp(`at <code>${config.RESOURCE_AUDIENCE}</code>`), 'names the resource');
  t.match(
    page.body,
    /your browser goes back to <strong>localhost:3000<\/strong>/,
    'names the host the browser is sent back to',
  );
  res = await decide(browser, consent.pathname + consent.search, 'approve');
  t.ok(location(res).searchParams.get('code'));

  // Same client, same scope, same resource: remembered.
  t.ok(location(await browser.get(authorizeUrl({ scope: 'photos:read' }))).searchParams.get('code'));
  // Same client and scope for another resource: asked again, and the page names that resource.
  res = await browser.get(authorizeUrl({ scope: 'photos:read', resource: OTHER_API }));
  t.equal(location(res).pathname, '/interaction/consent', 'a new audience is never approved silently');
  const other = await browser.get(location(res).pathname + location(res).search);
  t.match(other.body, new RegExp(`at <code>${OTHER_API}</code>`));
  res = await decide(browser, location(res).pathname + location(res).search, 'approve');
  t.ok(location(res).searchParams.get('code'));
  t.same(await app.consents.grantedScopes(ALICE_ID, 'demo-client', OTHER_API), ['photos:read']);
  t.ok(
    location(await browser.get(authorizeUrl({ scope: 'photos:read', resource: OTHER_API }))).searchParams.get('code'),
    'now remembered',
  );

  // The connected-apps page lists each app's resources.
  const apps = await browser.get('/interaction/connected-apps');
  t.match(apps.body, new RegExp(`At <code>${config.RESOURCE_AUDIENCE}</code>`));
  t.match(apps.body, new RegExp(`At <code>${OTHER_API}</code>`));
});

t.test('a public client (no secret) is asked every time, stored consent or not', async (t) => {
  const { app } = await buildTestApp(t);
  const browser = new Browser(app);
  const cli = { client_id: 'workshop-cli', redirect_uri: CLI_REDIRECT, scope: 'photos:read' };
  let res = await browser.get(authorizeUrl(cli));
  res = await login(browser, location(res).pathname + location(res).search);
  t.equal(location(res).pathname, '/interaction/consent');
  const page = await browser.get(location(res).pathname + location(res).search);
  t.match(page.body, /cannot prove its identity to this server/);
  res = await decide(browser, location(res).pathname + location(res).search, 'approve');
  t.ok(location(res).searchParams.get('code'), 'first approval answers with a code');
  t.same(
    await app.consents.grantedScopes(ALICE_ID, 'workshop-cli', app.config.RESOURCE_AUDIENCE),
    ['photos:read'],
    'the consent is recorded',
  );
  for (let i = 0; i < 2; i++) {
    res = await browser.get(authorizeUrl(cli));
    t.equal(location(res).pathname, '/interaction/consent', `request ${i + 2}: the consent page again, no code`);
    t.notOk(location(res).searchParams.get('code'));
  }
  // A confidential client with a stored consent is still answered at once (it authenticates at the token endpoint).
  res = await browser.get(authorizeUrl({ scope: 'photos:read' }));
  t.ok(
    location(await decide(browser, location(res).pathname + location(res).search, 'approve')).searchParams.get('code'),
  );
  t.ok(
    location(await browser.get(authorizeUrl({ scope: 'photos:read' }))).searchParams.get('code'),
    'remembered for it',
  );
});
