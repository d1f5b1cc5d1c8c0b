// The pushed authorization request checks (src/oauth/par-checks.ts, RFC 9126; RFC 9449 §10.1) as pure functions,
// one table row per rule with the exact answer. Over HTTP: test/routes/par.test.ts.
import t from 'tap';
import { PageError } from '../../src/plugins/pages.js';
import type { AuthorizationRequest } from '../../src/domain/records.js';
import type { RawParams } from '../../src/lib/params.js';
import {
  bindPushedKey,
  recheckPushedRedirectUri,
  recheckPushedRequest,
  requirePushedByClient,
  requirePushedWhereRequired,
  requireRequestUriForm,
  requireSameClientId,
  validatePushedRequest,
} from '../../src/oauth/par-checks.js';
import { refuses, type Refusal } from './refusals.js';
import { CONFIDENTIAL, PUBLIC } from './client-fixtures.js';

const RESOURCES = { defaultAudience: 'http://localhost:9100', known: ['http://localhost:9100'] };
const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const OTHER_JKT = 'A'.repeat(43);
const URI = `urn:ietf:params:oauth:request_uri:${'b'.repeat(43)}`;
const VALID: RawParams = {
  response_type: 'code',
  client_id: 'demo-client',
  redirect_uri: 'http://localhost:3000/callback',
  scope: 'photos:read',
  state: 'st-1',
  code_challenge: 'c'.repeat(43),
  code_challenge_method: 'S256',
};
const push =
  (overrides: RawParams, proofJkt?: string, client = CONFIDENTIAL) =>
  () => {
    const params = Object.fromEntries(Object.entries({ ...VALID, ...overrides }).filter(([, v]) => v !== undefined));
    return validatePushedRequest(params as RawParams, client, RESOURCES, proofJkt);
  };
const PUSHED: AuthorizationRequest = {
  clientId: 'demo-client',
  redirectUri: 'http://localhost:3000/callback',
  redirectUriProvided: true,
  scopes: ['photos:read'],
  state: 'st-1',
  codeChallenge: 'c'.repeat(43),
  resource: 'http://localhost:9100',
  publicClient: false,
};

const invalidRequest = (description: string, reason: string): Refusal => ({
  error: 'invalid_request',
  description,
  reason,
});

const rows: [string, () => unknown, Refusal][] = [
  [
    'a client_id other than the authenticated client (RFC 9126 §2.1)',
    () => requireSameClientId({ client_id: 'someone-else' }, CONFIDENTIAL),
    invalidRequest('client_id differs from the authenticated client.', 'client-id-mismatch'),
  ],
  [
    'a request_uri inside a pushed request (RFC 9126 §2.1)',
    push({ request_uri: URI }),
    invalidRequest('request_uri must not be sent to the pushed authorization request endpoint.', 'par-request-uri'),
  ],
  [
    'a request object, before the redirect URI is checked (RFC 9101 §7: request_not_supported)',
    push({ request: 'eyJhbGciOiJub25lIn0.e30.', redirect_uri: 'http://localhost:3000/other' }),
    {
      error: 'request_not_supported',
      description: 'Request objects (the request parameter, RFC 9101) are not supported.',
      reason: 'request-object',
    },
  ],
  [
    'an unregistered redirect_uri: invalid_request, not a page (RFC 9126 §2.3)',
    push({ redirect_uri: 'http://localhost:3000/other' }),
    invalidRequest('The redirect_uri is not registered for this client.', 'redirect-uri-invalid'),
  ],
  [
    'no redirect_uri when several are registered',
    push({ redirect_uri: undefined, client_id: 'workshop-cli' }, undefined, PUBLIC),
    invalidRequest('The request has no redirect_uri and the client registered several.', 'redirect-uri-invalid'),
  ],
  [
    'PROFILE=fapi2: no redirect_uri, even with one registered (FAPI 2.0 §5.3.2.2)',
    () =>
      validatePushedRequest({ ...VALID, redirect_uri: undefined } as RawParams, CONFIDENTIAL, RESOURCES, undefined, {
        redirectUriRequired: true,
      }),
    invalidRequest('redirect_uri is required in a pushed authorization request.', 'redirect-uri-missing'),
  ],
  [
    'the /authorize rules apply: plain PKCE',
    push({ code_challenge_method: 'plain' }),
    invalidRequest('Only code_challenge_method=S256 is supported.', 'pkce-method-unsupported'),
  ],
  [
    'the /authorize rules apply: a scope the client may not have',
    push({ scope: 'admin' }),
    { error: 'invalid_scope', description: 'Scope not allowed for this client: admin.', reason: 'scope-not-allowed' },
  ],
  [
    'the /authorize rules apply: a malformed dpop_jkt',
    push({ dpop_jkt: 'nope' }),
    invalidRequest(
      'dpop_jkt must be the SHA-256 JWK thumbprint (RFC 7638) of the DPoP key: 43 characters of base64url.',
      'dpop-jkt-malformed',
    ),
  ],
  [
    "dpop_jkt and the proof's key disagree (RFC 9449 §10.1)",
    push({ dpop_jkt: OTHER_JKT }, JKT),
    invalidRequest("dpop_jkt does not match the key of the request's DPoP proof.", 'dpop-jkt-mismatch'),
  ],
  [
    'PAR required by the server, a request without request_uri (RFC 9126 §4, §5)',
    () => requirePushedWhereRequired(CONFIDENTIAL, true),
    invalidRequest(
      'This server accepts authorization requests only through its pushed authorization request endpoint (RFC 9126).',
      'par-required',
    ),
  ],
  [
    'PAR required by the client registration (RFC 9126 §4, §6)',
    () => requirePushedWhereRequired({ ...CONFIDENTIAL, requirePushedAuthorizationRequests: true }, false),
    invalidRequest(
      'This client must push its authorization requests to the pushed authorization request endpoint (RFC 9126).',
      'par-required-by-client',
    ),
  ],
  [
    'a pushed request whose scope the client may no longer have (RFC 9126 §4)',
    () => recheckPushedRequest(PUSHED, { ...CONFIDENTIAL, allowedScopes: ['documents:read'] }),
    {
      error: 'invalid_scope',
      description: 'Scope not allowed for this client: photos:read.',
      reason: 'scope-not-allowed',
    },
  ],
  [
    'a pushed request of a client no longer registered for the code grant',
    () => recheckPushedRequest(PUSHED, { ...CONFIDENTIAL, grantTypes: ['client_credentials'] }),
    {
      error: 'unauthorized_client',
      description: 'This client may not use the authorization code grant.',
      reason: 'code-grant-not-allowed',
    },
  ],
];

for (const [name, run, expected] of rows) t.test(name, (t) => refuses(t, run, expected));

/** At /authorize, until the pushed request is found nothing is verified: a page, never a redirect. */
const pageRows: [string, () => unknown, string][] = [
  [
    'two request_uris',
    () => requireRequestUriForm({ request_uri: [URI, URI] }),
    'The request_uri parameter appears more than once.',
  ],
  ...['', 'https://client.example/request.jwt', `urn:ietf:params:oauth:request_uri:${'b'.repeat(42)}`].map(
    (value): [string, () => unknown, string] => [
      `a request_uri this server did not issue: ${JSON.stringify(value)}`,
      () => requireRequestUriForm({ request_uri: value }),
      'The request_uri is not one this server issued (it issues urn:ietf:params:oauth:request_uri: values at its pushed authorization request endpoint).',
    ],
  ),
  [
    'an unknown, expired or used request_uri (RFC 9126 §4)',
    () => requirePushedByClient(null, CONFIDENTIAL),
    'The request_uri is unknown, has expired or was already used. Go back to the application and start again.',
  ],
  [
    "another client's request_uri (RFC 9126 §2.2: bound to its client)",
    () => requirePushedByClient(PUSHED, PUBLIC),
    'The request_uri was pushed by another client.',
  ],
  [
    'a pushed redirect_uri no longer registered',
    () => recheckPushedRedirectUri(PUSHED, { ...CONFIDENTIAL, redirectUris: ['http://localhost:3000/new'] }),
    'The redirect_uri of the pushed request is no longer registered for this client.',
  ],
];

for (const [name, run, detail] of pageRows) {
  t.test(name, async (t) => {
    t.throws(run, new PageError(400, 'Invalid authorization request', detail));
  });
}

t.test('a valid push is what /authorize would store; the DPoP key binds the code (RFC 9449 §10.1)', async (t) => {
  t.same(push({})(), PUSHED);
  t.same(push({}, JKT)(), { ...PUSHED, dpopJkt: JKT }, "the proof's key");
  t.same(push({ dpop_jkt: JKT })(), { ...PUSHED, dpopJkt: JKT }, 'dpop_jkt alone');
  t.same(push({ dpop_jkt: JKT }, JKT)(), { ...PUSHED, dpopJkt: JKT }, 'both, agreeing');
  t.same(push({ client_id: undefined })(), PUSHED, 'client_id may be left to client authentication');
  t.same(bindPushedKey(PUSHED, undefined), PUSHED);
  t.equal(requireRequestUriForm({ request_uri: URI }), URI);
  t.equal(requirePushedByClient(PUSHED, CONFIDENTIAL), PUSHED);
  t.doesNotThrow(() => recheckPushedRedirectUri(PUSHED, CONFIDENTIAL));
  t.same(recheckPushedRequest(PUSHED, CONFIDENTIAL), PUSHED);
  t.doesNotThrow(() => requirePushedWhereRequired(CONFIDENTIAL, false), 'PAR optional: a plain request goes on');
});
