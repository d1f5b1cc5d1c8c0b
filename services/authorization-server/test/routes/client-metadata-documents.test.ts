// Client ID metadata documents over HTTP (draft-ietf-oauth-client-id-metadata-document): the metadata, the code
// flow of a client known only by its document URL (served locally over loopback http: the test issuer is http),
// and every refusal with its exact answer — an error page at /authorize (never a redirect), invalid_client at
// the token endpoint.
import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import { startDocumentServer } from '@quartet/testing';
import { createEnvironment } from '../helper.js';
import { CLI_REDIRECT, authorizeUrl, obtainCode, tokenRequest, type Params } from '../browser.js';

const documents = await startDocumentServer();
t.teardown(() => documents.close());
const env = await createEnvironment(t);
const app = await env.build();

/** A document at a fresh path (the resolver caches by URL), describing a client at that URL. */
let serial = 0;
function client(fields: Record<string, unknown> = {}, headers: Record<string, string> = {}): string {
  const path = `/clients/${++serial}.json`;
  const url = `${documents.origin}${path}`;
  documents.put(
    path,
    {
      client_id: url,
      client_name: 'Photo Frame',
      redirect_uris: [CLI_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      ...fields,
    },
    headers,
  );
  return url;
}

const authorize = (clientId: string, overrides: Params = {}) =>
  authorizeUrl({ client_id: clientId, redirect_uri: CLI_REDIRECT, ...overrides });

async function expectPage(t: Test, url: string, detail: string) {
  const res = await app.inject({ method: 'GET', url });
  t.equal(res.statusCode, 400);
  t.notOk(res.headers.location, 'never redirects');
  t.match(res.headers['content-type'], /text\/html/);
  t.match(res.body, detail);
}

t.test('the metadata says documents are supported', async (t) => {
  const meta = (await app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  t.equal(meta.client_id_metadata_document_supported, true);
});

t.test('the code flow with a document URL as client_id, and its client row', async (t) => {
  const clientId = client();
  const { code, verifier } = await obtainCode(app, { params: { client_id: clientId, redirect_uri: CLI_REDIRECT } });
  const res = await tokenRequest(app, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: CLI_REDIRECT,
    client_id: clientId,
    code_verifier: verifier,
  });
  t.equal(res.statusCode, 200, res.body);
  const body = res.json();
  t.match(body, {
    token_type: 'Bearer',
    access_token: String,
    refresh_token: String,
    scope: 'photos:read documents:read',
  });
  const refreshed = await tokenRequest(app, {
    grant_type: 'refresh_token',
    refresh_token: body.refresh_token,
    client_id: clientId,
  });
  t.equal(refreshed.statusCode, 200, 'the refresh token works for the document client');

  const row = await app.prisma.client.findUniqueOrThrow({ where: { id: clientId } });
  t.match(row, {
    name: 'Photo Frame',
    secretHash: null,
    redirectUris: [CLI_REDIRECT],
    registration: 'metadata_document',
    tokenEndpointAuthMethod: 'none',
    metadata: { client_id: clientId, client_name: 'Photo Frame' },
  });
  t.same(row.allowedScopes, ['photos:read', 'photos:write', 'documents:read', 'documents:write']);
});

t.test('a document that cannot be used is an error page naming the problem (never a redirect)', async (t) => {
  await expectPage(
    t,
    authorize(`${documents.origin}/clients/none.json`),
    'the document URL answered HTTP 404 (200 expected).',
  );
  const other = `${documents.origin}/clients/mismatch.json`;
  documents.put('/clients/mismatch.json', {
    client_id: `${documents.origin}/clients/x.json`,
    redirect_uris: [CLI_REDIRECT],
  });
  await expectPage(t, authorize(other), 'its client_id does not equal the URL it was fetched from.');
  await expectPage(
    t,
    authorize(client({ token_endpoint_auth_method: 'client_secret_post' })),
    'token_endpoint_auth_method must not be a shared-secret method (use none).',
  );
  await expectPage(
    t,
    authorize(client({ redirect_uris: ['http://app.example/cb'] })),
    'must use https (http is allowed only on localhost or a loopback address).',
  );
  await expectPage(t, authorize(`${documents.origin}/clients/a/../b.json`), 'the URL must not contain');
  await expectPage(
    t,
    authorize('https://10.0.0.1/client.json'),
    'the address 10.0.0.1 is private, loopback, link-local or reserved, and not fetched.',
  );
  await expectPage(
    t,
    authorize('http://app.example/client.json'),
    'the URL must use https (http only on localhost or a loopback address, with a development issuer).',
  );
  // The redirect_uri must be one the document lists, exactly (RFC 9700 §2.1).
  await expectPage(
    t,
    authorize(client(), { redirect_uri: `${CLI_REDIRECT}/` }),
    'The redirect_uri is not registered for this client.',
  );
});

t.test('a redirect from the document URL is not followed', async (t) => {
  const server = createServer((_req, res) => res.writeHead(302, { location: client() }).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  await expectPage(
    t,
    authorize(`http://127.0.0.1:${port}/client.json`),
    'the document URL answered a redirect (302), which is not followed.',
  );
});

t.test('at the token endpoint a document that cannot be used is invalid_client (RFC 6749 §5.2)', async (t) => {
  const res = await tokenRequest(app, {
    grant_type: 'authorization_code',
    code: 'x',
    code_verifier: 'v'.repeat(43),
    redirect_uri: CLI_REDIRECT,
    client_id: `${documents.origin}/clients/gone.json`,
  });
  t.equal(res.statusCode, 401);
  t.same(res.json(), {
    error: 'invalid_client',
    error_description: 'Client metadata document: the document URL answered HTTP 404 (200 expected).',
  });
  // A document client has no secret: one presented is refused like any wrong secret.
  const withSecret = await tokenRequest(app, {
    grant_type: 'authorization_code',
    code: 'x',
    code_verifier: 'v'.repeat(43),
    redirect_uri: CLI_REDIRECT,
    client_id: client(),
    client_secret: 'guess',
  });
  t.equal(withSecret.statusCode, 401);
  t.same(withSecret.json(), { error: 'invalid_client', error_description: 'Client authentication failed.' });
});

t.test('with CLIENT_METADATA_DOCUMENTS=false a URL is an unknown client', async (t) => {
  const clientId = client();
  const { code } = await obtainCode(app, { params: { client_id: clientId, redirect_uri: CLI_REDIRECT } });
  t.ok(code, 'the row exists from a flow while the feature was on');
  await app.close();
  const off = await env.build({ CLIENT_METADATA_DOCUMENTS: 'false' });
  const meta = (await off.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  t.equal(meta.client_id_metadata_document_supported, false);
  const res = await off.inject({ url: authorize(clientId) });
  t.equal(res.statusCode, 400);
  t.match(res.body, 'The application that sent you here is not registered.');
});
