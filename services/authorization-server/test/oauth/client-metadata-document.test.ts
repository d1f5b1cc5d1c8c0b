// The pure checks of client ID metadata documents (src/oauth/client-metadata-document.ts): the client_id URL
// (draft §3) and the document (draft §4, RFC 7591 §2), one table row per rule with the exact problem.
import t from 'tap';
import {
  ClientMetadataDocumentError,
  clientFromMetadataDocument,
  clientIdUrlProblem,
  invalidDocumentClient,
  isMetadataDocumentUrl,
} from '../../src/oauth/client-metadata-document.js';
import { refuses } from './refusals.js';

const ID = 'https://app.example/oauth/client.json';
const DOC = { client_id: ID, client_name: 'Photo Frame', redirect_uris: ['https://app.example/callback'] };

t.test('which client ids are document URLs', async (t) => {
  t.ok(isMetadataDocumentUrl(ID, false));
  t.notOk(isMetadataDocumentUrl('demo-client', true));
  t.notOk(isMetadataDocumentUrl('http://localhost:4000/c.json', false), 'http only with a development issuer');
  t.ok(isMetadataDocumentUrl('http://localhost:4000/c.json', true));
});

t.test('client_id URL rules (draft §3)', async (t) => {
  const rows: [string, boolean, string | null][] = [
    [ID, false, null],
    ['https://app.example/c?v=1', false, null],
    ['https://app.example:8443/c', false, null],
    ['http://localhost:4000/c.json', true, null],
    ['http://127.0.0.1:4000/c.json', true, null],
    ['http://[::1]:4000/c.json', true, null],
    ['http://app.example/c.json', false, 'the URL must use https'],
    [
      'http://app.example/c.json',
      true,
      'the URL must use https (http only on localhost or a loopback address, with a development issuer)',
    ],
    ['http://localhost:4000/c.json', false, 'the URL must use https'],
    ['https://app.example/c#frag', false, 'the URL must not contain a fragment'],
    ['https://user:pw@app.example/c', false, 'the URL must not contain a username or password'],
    ['https://app.example/a/../c', false, 'the URL must not contain "." or ".." path segments'],
    ['https://app.example/./c', false, 'the URL must not contain "." or ".." path segments'],
    ['https://app.example/a/%2e%2E/c', false, 'the URL must not contain "." or ".." path segments'],
    ['https://app.example', false, 'the URL must have a path'],
    ['https://app.example/', false, 'the URL must have a path'],
    ['https://APP.example/c', false, 'the URL is not in its normal form (https://app.example/c)'],
    ['https://app.example:443/c', false, 'the URL is not in its normal form (https://app.example/c)'],
    ['https://', false, 'the client_id is not a valid URL'],
    [`https://app.example/${'a'.repeat(240)}`, false, 'the URL is longer than 255 characters'],
  ];
  for (const [url, dev, problem] of rows) t.equal(clientIdUrlProblem(url, dev), problem, `${url} (dev: ${dev})`);
});

t.test('a valid document gives a public client with the defaults of RFC 7591 §2', async (t) => {
  t.same(clientFromMetadataDocument(ID, DOC), {
    record: {
      id: ID,
      name: 'Photo Frame',
      secretHash: null,
      redirectUris: ['https://app.example/callback'],
      allowedScopes: ['photos:read', 'photos:write', 'documents:read', 'documents:write'],
      grantTypes: ['authorization_code'],
      registration: 'metadata_document',
      tokenEndpointAuthMethod: 'none',
      requirePushedAuthorizationRequests: false,
      dpopBoundAccessTokens: false,
    },
    metadata: DOC,
  });
  const full = clientFromMetadataDocument(ID, {
    client_id: ID,
    redirect_uris: ['http://127.0.0.1:8765/cb'],
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    scope: 'photos:read',
    token_endpoint_auth_method: 'none',
    response_types: ['code'],
    logo_uri: 'https://app.example/logo.png',
  }).record;
  t.equal(full.name, 'app.example', 'without client_name, the host names it');
  t.same(full.grantTypes, ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code']);
  t.same(full.allowedScopes, ['photos:read']);
  const device = clientFromMetadataDocument(ID, {
    client_id: ID,
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
  }).record;
  t.same(device.redirectUris, [], 'a device-only client needs no redirect URI');
});

t.test(
  'require_pushed_authorization_requests and dpop_bound_access_tokens: false unless the document says true',
  async (t) => {
    const strict = clientFromMetadataDocument(ID, {
      ...DOC,
      require_pushed_authorization_requests: true,
      dpop_bound_access_tokens: true,
    }).record;
    t.match(strict, { requirePushedAuthorizationRequests: true, dpopBoundAccessTokens: true });
    const relaxed = clientFromMetadataDocument(ID, {
      ...DOC,
      require_pushed_authorization_requests: false,
      dpop_bound_access_tokens: false,
    }).record;
    t.match(relaxed, { requirePushedAuthorizationRequests: false, dpopBoundAccessTokens: false });
  },
);

t.test('document rules (draft §4, RFC 7591 §2), each with its exact problem', async (t) => {
  const rows: [string, unknown, string][] = [
    ['not an object', ['x'], 'the document is not a JSON object'],
    ['null', null, 'the document is not a JSON object'],
    ['client_id missing', { ...DOC, client_id: undefined }, 'its client_id does not equal the URL it was fetched from'],
    [
      'client_id another spelling',
      { ...DOC, client_id: `${ID}?` },
      'its client_id does not equal the URL it was fetched from',
    ],
    [
      'a shared-secret method',
      { ...DOC, token_endpoint_auth_method: 'client_secret_basic' },
      'token_endpoint_auth_method must not be a shared-secret method (use none)',
    ],
    [
      'client_secret_jwt',
      { ...DOC, token_endpoint_auth_method: 'client_secret_jwt' },
      'token_endpoint_auth_method must not be a shared-secret method (use none)',
    ],
    [
      'an unsupported method',
      { ...DOC, token_endpoint_auth_method: 'private_key_jwt' },
      'token_endpoint_auth_method "private_key_jwt" is not supported (use none)',
    ],
    ['a client_secret', { ...DOC, client_secret: 's' }, 'client_secret and client_secret_expires_at must not be used'],
    [
      'client_secret_expires_at',
      { ...DOC, client_secret_expires_at: 0 },
      'client_secret and client_secret_expires_at must not be used',
    ],
    [
      'client_credentials',
      { ...DOC, grant_types: ['client_credentials'] },
      'grant type "client_credentials" is not allowed',
    ],
    ['grant_types not a list', { ...DOC, grant_types: 'authorization_code' }, 'grant_types must be a list of strings'],
    ['refresh_token alone', { ...DOC, grant_types: ['refresh_token'] }, 'refresh_token needs authorization_code'],
    ['response_types token', { ...DOC, response_types: ['token'] }, 'response_types may only contain "code"'],
    [
      'redirect_uris not a list',
      { ...DOC, redirect_uris: 'https://a.example/cb' },
      'redirect_uris must be a list of strings',
    ],
    [
      'no redirect URI for the code flow',
      { ...DOC, redirect_uris: [] },
      'authorization_code needs at least one redirect URI',
    ],
    [
      'an http redirect URI',
      { ...DOC, redirect_uris: ['http://app.example/cb'] },
      'redirect URI "http://app.example/cb" must use https (http is allowed only on localhost or a loopback address)',
    ],
    [
      'a redirect URI with a fragment',
      { ...DOC, redirect_uris: ['https://app.example/cb#x'] },
      'redirect URI "https://app.example/cb#x" must not contain a fragment (#)',
    ],
    [
      'too many redirect URIs',
      { ...DOC, redirect_uris: Array.from({ length: 21 }, (_, i) => `https://app.example/${i}`) },
      'at most 20 redirect_uris',
    ],
    [
      'a very long redirect URI',
      { ...DOC, redirect_uris: [`https://app.example/${'a'.repeat(2048)}`] },
      'a redirect URI is longer than 2048 characters',
    ],
    ['an unknown scope', { ...DOC, scope: 'photos:read admin' }, 'scope "admin" is not supported'],
    ['an empty scope', { ...DOC, scope: ' ' }, 'scope must be a space-separated string'],
    ['scope not a string', { ...DOC, scope: ['photos:read'] }, 'scope must be a space-separated string'],
    [
      'a long client_name',
      { ...DOC, client_name: 'n'.repeat(101) },
      'client_name must be 1 to 100 printable characters',
    ],
    [
      'a client_name with a newline',
      { ...DOC, client_name: 'a\nb' },
      'client_name must be 1 to 100 printable characters',
    ],
    ['an empty client_name', { ...DOC, client_name: ' ' }, 'client_name must be 1 to 100 printable characters'],
    [
      'require_pushed_authorization_requests not a boolean',
      { ...DOC, require_pushed_authorization_requests: 'true' },
      'require_pushed_authorization_requests must be true or false',
    ],
    [
      'dpop_bound_access_tokens not a boolean',
      { ...DOC, dpop_bound_access_tokens: 1 },
      'dpop_bound_access_tokens must be true or false',
    ],
    [
      'several problems at once',
      { ...DOC, client_secret: 's', scope: 'admin' },
      'client_secret and client_secret_expires_at must not be used; scope "admin" is not supported',
    ],
  ];
  for (const [name, doc, problem] of rows) {
    t.test(name, async (t) => {
      const err = t.throws(() => clientFromMetadataDocument(ID, doc)) as unknown;
      t.ok(err instanceof ClientMetadataDocumentError);
      const failure = err as ClientMetadataDocumentError;
      t.equal(failure.problem, problem);
      t.equal(failure.status, 400);
      t.equal(failure.detail, `The application's client metadata document (${ID}): ${problem}.`);
    });
  }
});

t.test('at the token endpoint the failure is invalid_client (RFC 6749 §5.2)', async (t) => {
  await refuses(
    t,
    () => {
      throw invalidDocumentClient(new ClientMetadataDocumentError(ID, 'the document is not a JSON object'));
    },
    {
      error: 'invalid_client',
      description: 'Client metadata document: the document is not a JSON object.',
      reason: 'client-metadata-document',
      status: 401,
    },
  );
});
