// GET /authorize: every validation rule sends the bad request and checks the exact RFC error.
import t, { type Test } from 'tap';
import { buildTestApp } from '../helper.js';
import { Browser, DEMO_REDIRECT, authorizeUrl, location, obtainCode, pkcePair } from '../browser.js';

const { app, config } = await buildTestApp(t);

async function errorRedirect(url: string) {
  const res = await app.inject({ method: 'GET', url });
  const loc = location(res);
  return { res, loc, params: Object.fromEntries(loc.searchParams) };
}

async function expectPage(t: Test, url: string, text: RegExp) {
  const res = await app.inject({ method: 'GET', url });
  t.equal(res.statusCode, 400);
  t.notOk(res.headers.location, 'never redirects');
  t.match(res.headers['content-type'], /text\/html/);
  t.match(res.body, text);
}

t.test(
  'unknown client, missing client_id, bad redirect URI: error page, never a redirect (RFC 6749 §4.1.2.1)',
  async (t) => {
    await expectPage(t, authorizeUrl({ client_id: 'nobody' }), /not registered/);
    await expectPage(t, authorizeUrl({ client_id: undefined }), /client_id is missing/);
    await expectPage(
      t,
      authorizeUrl({ client_id: ['demo-client', 'workshop-cli'] }),
      /client_id parameter appears more than once/,
    );
    await expectPage(
      t,
      authorizeUrl({ redirect_uri: 'https://evil.example/callback' }),
      /not registered for this client/,
    );
    await expectPage(t, authorizeUrl({ redirect_uri: `${DEMO_REDIRECT}/` }), /not registered/);
    await expectPage(t, authorizeUrl({ redirect_uri: `${DEMO_REDIRECT}?x=1` }), /not registered/);
    await expectPage(
      t,
      authorizeUrl({ redirect_uri: [DEMO_REDIRECT, DEMO_REDIRECT] }),
      /redirect_uri parameter appears more than once/,
    );
  },
);

t.test('redirect_uri may be omitted when the client registered exactly one', async (t) => {
  const res = await app.inject({ method: 'GET', url: authorizeUrl({ redirect_uri: undefined }) });
  t.equal(res.statusCode, 303);
  t.equal(location(res).pathname, '/interaction/login');
});

t.test('redirect_uri omitted when the client has several: error page', async (t) => {
  await app.prisma.client.update({
    where: { id: 'workshop-cli' },
    data: { redirectUris: ['http://127.0.0.1:8765/callback', 'http://127.0.0.1:8766/callback'] },
  });
  t.teardown(() =>
    app.prisma.client.update({
      where: { id: 'workshop-cli' },
      data: { redirectUris: ['http://127.0.0.1:8765/callback'] },
    }),
  );
  await expectPage(t, authorizeUrl({ client_id: 'workshop-cli', redirect_uri: undefined }), /registered several/);
});

const redirectCases: Array<[string, Record<string, string | string[] | undefined>, string, RegExp?]> = [
  ['missing response_type', { response_type: undefined }, 'invalid_request', /response_type/],
  ['response_type=token', { response_type: 'token' }, 'unsupported_response_type'],
  ['response_type=code token', { response_type: 'code token' }, 'unsupported_response_type'],
  ['missing code_challenge', { code_challenge: undefined }, 'invalid_request', /code_challenge/],
  ['missing code_challenge_method', { code_challenge_method: undefined }, 'invalid_request', /S256/],
  ['plain PKCE', { code_challenge_method: 'plain' }, 'invalid_request', /S256/],
  ['challenge too short', { code_challenge: 'abc' }, 'invalid_request', /43 characters/],
  ['challenge with bad characters', { code_challenge: `${'a'.repeat(42)}=` }, 'invalid_request', /base64url/],
  ['challenge too long', { code_challenge: 'a'.repeat(44) }, 'invalid_request', /43 characters/],
  ['missing scope', { scope: undefined }, 'invalid_scope', /required/],
  ['unknown scope', { scope: 'photos:read admin' }, 'invalid_scope', /admin/],
  ['malformed scope', { scope: 'photos:read  documents:read' }, 'invalid_scope', /malformed/],
  ['repeated scope', { scope: ['photos:read', 'documents:read'] }, 'invalid_request', /scope/],
  ['repeated response_type', { response_type: ['code', 'code'] }, 'invalid_request', /response_type/],
  [
    'repeated code_challenge',
    { code_challenge: [pkcePair().challenge, pkcePair().challenge] },
    'invalid_request',
    /code_challenge/,
  ],
  [
    'dpop_jkt not a SHA-256 JWK thumbprint (RFC 9449 §10)',
    { dpop_jkt: 'abc' },
    'invalid_request',
    /^dpop_jkt must be the SHA-256 JWK thumbprint \(RFC 7638\) of the DPoP key: 43 characters of base64url\.$/,
  ],
  ['repeated dpop_jkt', { dpop_jkt: ['a'.repeat(43), 'b'.repeat(43)] }, 'invalid_request', /dpop_jkt/],
  [
    'a request object (RFC 9101 §7)',
    { request: 'eyJhbGciOiJub25lIn0.eyJzY29wZSI6ImRvY3VtZW50czpyZWFkIn0.' },
    'request_not_supported',
    /^Request objects \(the request parameter, RFC 9101\) are not supported\.$/,
  ],
];

for (const [name, overrides, error, description] of redirectCases) {
  t.test(`${name} -> redirect with error=${error}, state and iss`, async (t) => {
    const { res, loc, params } = await errorRedirect(authorizeUrl(overrides));
    t.equal(res.statusCode, 303);
    t.equal(`${loc.origin}${loc.pathname}`, DEMO_REDIRECT);
    t.equal(params.error, error);
    if (description) t.match(params.error_description, description);
    t.equal(params.state, 'st-123');
    t.equal(params.iss, config.ISSUER, 'RFC 9207 iss');
    t.notOk(params.code);
    t.equal(res.headers['cache-control'], 'no-store');
  });
}

t.test('a repeated state cannot be echoed: invalid_request without state', async (t) => {
  const { params } = await errorRedirect(authorizeUrl({ state: ['a', 'b'] }));
  t.equal(params.error, 'invalid_request');
  t.notOk(params.state);
});

t.test('a client not allowed the code grant gets unauthorized_client', async (t) => {
  await app.prisma.client.update({ where: { id: 'workshop-cli' }, data: { grantTypes: [] } });
  t.teardown(() =>
    app.prisma.client.update({ where: { id: 'workshop-cli' }, data: { grantTypes: ['authorization_code'] } }),
  );
  const { params } = await errorRedirect(
    authorizeUrl({ client_id: 'workshop-cli', redirect_uri: 'http://127.0.0.1:8765/callback' }),
  );
  t.equal(params.error, 'unauthorized_client');
});

t.test('a valid request without a session goes to login, with the request stored server-side', async (t) => {
  const res = await app.inject({ method: 'GET', url: authorizeUrl() });
  t.equal(res.statusCode, 303);
  const loc = location(res);
  t.equal(loc.pathname, '/interaction/login');
  const id = loc.searchParams.get('request') ?? '';
  t.match(id, /^[A-Za-z0-9_-]{43}$/);
  const stored = await app.authorizationRequests.get(id);
  t.match(stored, {
    clientId: 'demo-client',
    redirectUri: DEMO_REDIRECT,
    scopes: ['photos:read', 'documents:read'],
    state: 'st-123',
  });
  t.notOk(loc.search.includes('code_challenge'), 'only the id travels through the browser');
});

t.test('with a session and a covering consent, /authorize answers with a code straight away', async (t) => {
  const { browser } = await obtainCode(app);
  const res = await browser.get(authorizeUrl({ scope: 'photos:read', state: 'again' }));
  const loc = location(res);
  t.equal(`${loc.origin}${loc.pathname}`, DEMO_REDIRECT);
  t.match(loc.searchParams.get('code'), /^[A-Za-z0-9_-]{43}$/, '256-bit code');
  t.equal(loc.searchParams.get('state'), 'again');
  t.equal(loc.searchParams.get('iss'), config.ISSUER);
});

t.test('a session but missing consent goes to the consent page', async (t) => {
  const { browser } = await obtainCode(app, { params: { scope: 'photos:read' } });
  const res = await browser.get(authorizeUrl({ scope: 'photos:read photos:write' }));
  t.equal(location(res).pathname, '/interaction/consent');
});

t.test('state is optional and omitted from the response when absent', async (t) => {
  const b = new Browser(app);
  const { redirect } = await obtainCode(app, { browser: b, params: { state: undefined } });
  t.notOk(redirect.searchParams.has('state'));
});
