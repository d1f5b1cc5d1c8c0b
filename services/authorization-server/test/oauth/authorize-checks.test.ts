// The authorization request checks (src/oauth/authorize-checks.ts) as pure functions, one table row per rule
// with the exact answer. Over HTTP (the redirect or page each becomes) they are test/routes/authorize.test.ts.
import t from 'tap';
import { PageError } from '../../src/plugins/pages.js';
import {
  MAX_PARAMETER_BYTES,
  readState,
  requireClientId,
  requireKnownClient,
  resolveRedirectUri,
  validateAuthorizationRequest,
} from '../../src/oauth/authorize-checks.js';
import type { RawParams } from '../../src/lib/params.js';
import { refuses, type Refusal } from './refusals.js';
import { CONFIDENTIAL, PUBLIC } from './client-fixtures.js';

const RESOURCES = { defaultAudience: 'http://localhost:9100', known: ['http://localhost:9100'] };
const REDIRECT = { redirectUri: CONFIDENTIAL.redirectUris[0]!, provided: true };
const VALID: RawParams = {
  response_type: 'code',
  client_id: 'demo-client',
  scope: 'photos:read',
  state: 'st-1',
  code_challenge: 'c'.repeat(43),
  code_challenge_method: 'S256',
};
const validate =
  (overrides: RawParams, client = CONFIDENTIAL) =>
  () => {
    const params = Object.fromEntries(Object.entries({ ...VALID, ...overrides }).filter(([, v]) => v !== undefined));
    return validateAuthorizationRequest(params as RawParams, client, REDIRECT, RESOURCES);
  };

const rows: [string, () => unknown, Refusal][] = [
  [
    'an oversized parameter',
    validate({ scope: 'a'.repeat(MAX_PARAMETER_BYTES.scope! + 1) }),
    { error: 'invalid_request', description: 'scope is longer than 1024 bytes.', reason: 'parameter-too-long' },
  ],
  [
    'a request object (RFC 9101 §7: request_not_supported, not silently ignored)',
    validate({ request: 'eyJhbGciOiJub25lIn0.e30.' }),
    {
      error: 'request_not_supported',
      description: 'Request objects (the request parameter, RFC 9101) are not supported.',
      reason: 'request-object',
    },
  ],
  [
    'a repeated parameter (RFC 6749 §3.1)',
    validate({ scope: ['photos:read', 'documents:read'] }),
    { error: 'invalid_request', description: 'Parameter repeated: scope.', reason: 'parameter-repeated' },
  ],
  [
    'two resources: invalid_target before the generic repeated-parameter error (RFC 8707)',
    validate({ resource: ['http://localhost:9100', 'http://localhost:9100'] }),
    {
      error: 'invalid_target',
      description: 'Only one resource per request is supported.',
      reason: 'resource-repeated',
    },
  ],
  [
    'no response_type',
    validate({ response_type: undefined }),
    { error: 'invalid_request', description: 'response_type is required.', reason: 'response-type-missing' },
  ],
  [
    'response_type token (OAuth 2.1 drops implicit)',
    validate({ response_type: 'token' }),
    {
      error: 'unsupported_response_type',
      description: 'Only response_type=code is supported.',
      reason: 'response-type-unsupported',
    },
  ],
  [
    'a client not registered for the code grant',
    validate({}, { ...CONFIDENTIAL, grantTypes: ['client_credentials'] }),
    {
      error: 'unauthorized_client',
      description: 'This client may not use the authorization code grant.',
      reason: 'code-grant-not-allowed',
    },
  ],
  [
    'no code_challenge (RFC 7636 §4.3)',
    validate({ code_challenge: undefined }),
    { error: 'invalid_request', description: 'code_challenge is required (PKCE).', reason: 'pkce-missing' },
  ],
  [
    'no code_challenge_method',
    validate({ code_challenge_method: undefined }),
    {
      error: 'invalid_request',
      description: 'code_challenge_method is required and must be S256.',
      reason: 'pkce-method-missing',
    },
  ],
  [
    'plain PKCE (RFC 9700 §2.1.1)',
    validate({ code_challenge_method: 'plain' }),
    {
      error: 'invalid_request',
      description: 'Only code_challenge_method=S256 is supported.',
      reason: 'pkce-method-unsupported',
    },
  ],
  [
    'a challenge that is not an S256 hash (RFC 7636 §4.2)',
    validate({ code_challenge: 'short' }),
    {
      error: 'invalid_request',
      description: 'code_challenge must be 43 characters of base64url (S256).',
      reason: 'pkce-challenge-malformed',
    },
  ],
  [
    'no scope (RFC 6749 §3.3)',
    validate({ scope: undefined }),
    { error: 'invalid_scope', description: 'scope is required.', reason: 'scope-missing' },
  ],
  [
    'a malformed scope',
    validate({ scope: 'bad"scope' }),
    { error: 'invalid_scope', description: 'scope is malformed.', reason: 'scope-malformed' },
  ],
  [
    'a scope the client may not have',
    validate({ scope: 'photos:read admin' }),
    { error: 'invalid_scope', description: 'Scope not allowed for this client: admin.', reason: 'scope-not-allowed' },
  ],
  ...['short', 'x'.repeat(44), `${'x'.repeat(42)}=`, `${'x'.repeat(42)}+`].map(
    (jkt): [string, () => unknown, Refusal] => [
      `a dpop_jkt that is not a SHA-256 JWK thumbprint: ${jkt} (RFC 9449 §10)`,
      validate({ dpop_jkt: jkt }),
      {
        error: 'invalid_request',
        description:
          'dpop_jkt must be the SHA-256 JWK thumbprint (RFC 7638) of the DPoP key: 43 characters of base64url.',
        reason: 'dpop-jkt-malformed',
      },
    ],
  ),
];

for (const [name, run, expected] of rows) t.test(name, (t) => refuses(t, run, expected));

/** The checks before the redirect URI is verified answer with a page, never a redirect (RFC 6749 §4.1.2.1). */
const pageRows: [string, () => unknown, string][] = [
  ['no client_id', () => requireClientId({}), 'The request does not name a client (client_id is missing).'],
  [
    'two client_ids',
    () => requireClientId({ client_id: ['a', 'b'] }),
    'The client_id parameter appears more than once.',
  ],
  [
    'an oversized client_id',
    () => requireClientId({ client_id: 'x'.repeat(256) }),
    'The client_id is longer than 255 bytes.',
  ],
  ['an unknown client', () => requireKnownClient(null), 'The application that sent you here is not registered.'],
  [
    'an unregistered redirect_uri (RFC 9700 §2.1)',
    () => resolveRedirectUri({ redirect_uri: 'http://localhost:3000/other' }, CONFIDENTIAL),
    'The redirect_uri is not registered for this client.',
  ],
  [
    'no redirect_uri when several are registered (RFC 6749 §3.1.2.3)',
    () => resolveRedirectUri({}, PUBLIC),
    'The request has no redirect_uri and the client registered several.',
  ],
  [
    'two redirect_uris',
    () => resolveRedirectUri({ redirect_uri: ['a', 'b'] }, CONFIDENTIAL),
    'The redirect_uri parameter appears more than once.',
  ],
];

for (const [name, run, detail] of pageRows) {
  t.test(name, async (t) => {
    t.throws(run, new PageError(400, 'Invalid authorization request', detail));
  });
}

t.test('a valid request is what is stored', async (t) => {
  t.same(validate({})(), {
    clientId: 'demo-client',
    redirectUri: REDIRECT.redirectUri,
    redirectUriProvided: true,
    scopes: ['photos:read'],
    state: 'st-1',
    codeChallenge: 'c'.repeat(43),
    resource: 'http://localhost:9100',
    publicClient: false,
  });
  t.same(resolveRedirectUri({}, CONFIDENTIAL), { redirectUri: REDIRECT.redirectUri, provided: false });
  const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
  t.equal(validate({ dpop_jkt: jkt })().dpopJkt, jkt, 'dpop_jkt binds the code to that key (RFC 9449 §10)');
  t.notOk('dpopJkt' in validate({ dpop_jkt: '' })(), 'an empty dpop_jkt counts as absent (RFC 6749 §3.1)');
  t.equal(readState({ state: 's'.repeat(2049) }), undefined, 'an oversized state is not echoed');
  t.equal(readState({ state: ['a', 'b'] }), undefined, 'a repeated state is not echoed');
});
