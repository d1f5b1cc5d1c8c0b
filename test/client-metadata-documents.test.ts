// Client ID metadata documents across real processes (draft-ietf-oauth-client-id-metadata-document): an
// independent client library (openid-client) uses the URL of its metadata document as its client_id — no
// registration anywhere — and runs discovery, code + PKCE and refresh against the running authorization
// server, and the resource server accepts the token. The document is served locally over loopback http, which
// the authorization server accepts because its issuer is http (development).
import t from 'tap';
import * as oidc from 'openid-client';
import { startDocumentServer } from '@quartet/testing';
import { Browser, authorizeAs } from './support/browser.js';
import { loopback, pkceRequest } from './support/oidc.js';
import { startStack } from './support/stack.js';

t.setTimeout(180_000);

const documents = await startDocumentServer();
t.teardown(() => documents.close());
const { urls } = await startStack(t, { name: 'cimd', client: false });

// Never listened on: the code is read off the redirect to it.
const REDIRECT = 'http://127.0.0.1:8765/callback';
const CLIENT_ID = `${documents.origin}/photo-frame/client.json`;
documents.put(
  '/photo-frame/client.json',
  {
    client_id: CLIENT_ID,
    client_name: 'Photo Frame',
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
    scope: 'photos:read',
  },
  { 'cache-control': 'max-age=60' },
);

const discover = (clientId: string) => oidc.discovery(new URL(urls.auth), clientId, undefined, oidc.None(), loopback);

t.test('a client known only by its document URL runs the code flow and refreshes', async (t) => {
  const config = await discover(CLIENT_ID);
  t.equal(config.serverMetadata().client_id_metadata_document_supported, true);

  const { url, verifier, state } = await pkceRequest(config, { redirect_uri: REDIRECT, scope: 'photos:read' });
  const callback = await authorizeAs(new Browser(), url.toString(), REDIRECT);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  t.equal(tokens.scope, 'photos:read');
  t.ok(tokens.refresh_token);
  const photos = await fetch(`${urls.resource}/photos`, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  t.equal(photos.status, 200, 'the resource server accepts the token');

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  t.ok(refreshed.access_token);
  t.ok(documents.requests.includes('/photo-frame/client.json'), 'the authorization server fetched the document');
});

t.test(
  'a URL without a usable document: an error page at /authorize, invalid_client at the token endpoint',
  async (t) => {
    const missing = `${documents.origin}/nobody/client.json`;
    const config = await discover(missing);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'photos:read',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const page = await fetch(url, { redirect: 'manual' });
    t.equal(page.status, 400, 'an error page, never a redirect');
    t.equal(page.headers.get('location'), null);
    t.match(await page.text(), 'the document URL answered HTTP 404 (200 expected).');

    const error = await oidc
      .authorizationCodeGrant(config, new URL(`${REDIRECT}?code=x&iss=${encodeURIComponent(urls.auth)}`), {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
      })
      .then(
        () => undefined,
        (err: unknown) => err as { error?: string; error_description?: string; status?: number },
      );
    t.match(error, {
      error: 'invalid_client',
      error_description: 'Client metadata document: the document URL answered HTTP 404 (200 expected).',
      status: 401,
    });
  },
);
