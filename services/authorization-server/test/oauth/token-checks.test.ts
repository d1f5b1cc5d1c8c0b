// The token request checks (src/oauth/token-checks.ts), one table row per rule with the exact answer.
import t from 'tap';
import type { CodeData } from '../../src/domain/records.js';
import type { RawParams } from '../../src/lib/params.js';
import { s256 } from '../../src/lib/pkce.js';
import {
  requireCodeKey,
  requireCodeParameters,
  requireConfidentialClient,
  requireFormBody,
  requireGrantType,
  requireLiveCode,
  requirePkceMatch,
  requireRefreshToken,
  requireSameClient,
  requireSameRedirectUri,
  requireScopeWithin,
  requireSupportedGrant,
} from '../../src/oauth/token-checks.js';
import { refuses, type Refusal } from './refusals.js';
import { CONFIDENTIAL, PUBLIC } from './client-fixtures.js';

const VERIFIER = 'v'.repeat(43);
const CLIENT = CONFIDENTIAL;
const PUBLIC_CLIENT = PUBLIC;
const CODE: CodeData = {
  clientId: 'demo-client',
  userId: 'a11ce000-0000-4000-8000-000000000001',
  redirectUri: 'http://localhost:3000/callback',
  redirectUriProvided: true,
  codeChallenge: s256(VERIFIER),
  scopes: ['photos:read'],
  resource: 'http://localhost:9100',
};
const FORM = 'application/x-www-form-urlencoded';
const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const BOUND: CodeData = { ...CODE, dpopJkt: JKT };

const rows: [string, () => unknown, Refusal][] = [
  [
    'a JSON body (RFC 6749 §3.2)',
    () => requireFormBody('application/json', {}),
    {
      error: 'invalid_request',
      description: 'The token request must be sent as application/x-www-form-urlencoded.',
      reason: 'form-body-required',
    },
  ],
  [
    'no body',
    () => requireFormBody(FORM, undefined),
    {
      error: 'invalid_request',
      description: 'The token request must be sent as application/x-www-form-urlencoded.',
      reason: 'form-body-required',
    },
  ],
  [
    'no grant_type (RFC 6749 §4.1.3)',
    () => requireGrantType({}),
    { error: 'invalid_request', description: 'grant_type is required.', reason: 'grant-type-missing' },
  ],
  [
    'an unsupported grant type (RFC 6749 §5.2)',
    () => requireSupportedGrant('password', CLIENT),
    {
      error: 'unsupported_grant_type',
      description: 'grant_type password is not supported.',
      reason: 'grant-type-unsupported',
    },
  ],
  [
    'a grant type the client is not registered for (RFC 6749 §5.2)',
    () => requireSupportedGrant('client_credentials', CLIENT),
    {
      error: 'unauthorized_client',
      description: 'This client may not use grant_type client_credentials.',
      reason: 'grant-type-not-allowed',
    },
  ],
  [
    'no code',
    () => requireCodeParameters({ code_verifier: VERIFIER }),
    { error: 'invalid_request', description: 'code is required.', reason: 'code-missing' },
  ],
  [
    'no code_verifier (RFC 7636 §4.5)',
    () => requireCodeParameters({ code: 'c' }),
    { error: 'invalid_request', description: 'code_verifier is required (PKCE).', reason: 'code-verifier-missing' },
  ],
  [
    'a code_verifier too short (RFC 7636 §4.1)',
    () => requireCodeParameters({ code: 'c', code_verifier: 'short' }),
    {
      error: 'invalid_request',
      description: 'code_verifier must be 43-128 characters of [A-Za-z0-9-._~].',
      reason: 'code-verifier-malformed',
    },
  ],
  [
    'an unknown, expired or spent code (RFC 6749 §4.1.3)',
    () => requireLiveCode(null),
    {
      error: 'invalid_grant',
      description: 'The authorization code is invalid, expired or already used.',
      reason: 'code-invalid',
    },
  ],
  [
    'a code issued to another client (RFC 6749 §4.1.3)',
    () => requireSameClient(CODE, PUBLIC_CLIENT),
    {
      error: 'invalid_grant',
      description: 'The authorization code was issued to another client.',
      reason: 'code-other-client',
    },
  ],
  [
    'another redirect_uri than the authorization request (RFC 6749 §4.1.3)',
    () => requireSameRedirectUri(CODE, 'http://localhost:3000/other'),
    {
      error: 'invalid_grant',
      description: 'redirect_uri does not match the authorization request.',
      reason: 'redirect-uri-mismatch',
    },
  ],
  [
    'no redirect_uri when the authorization request had one',
    () => requireSameRedirectUri(CODE, undefined),
    {
      error: 'invalid_grant',
      description: 'redirect_uri does not match the authorization request.',
      reason: 'redirect-uri-mismatch',
    },
  ],
  [
    'a code_verifier that does not match the challenge (RFC 7636 §4.6)',
    () => requirePkceMatch(CODE, 'w'.repeat(43)),
    {
      error: 'invalid_grant',
      description: 'code_verifier does not match the code_challenge.',
      reason: 'pkce-mismatch',
    },
  ],
  [
    'a code bound to a DPoP key, redeemed without a proof (RFC 9449 §10)',
    () => requireCodeKey(BOUND, undefined),
    {
      error: 'invalid_grant',
      description: 'The authorization code is bound to a DPoP key (dpop_jkt): redeem it with a DPoP proof of that key.',
      reason: 'code-dpop-key-mismatch',
    },
  ],
  [
    'a code bound to a DPoP key, redeemed with a proof of another key (RFC 9449 §10)',
    () => requireCodeKey(BOUND, 'A'.repeat(43)),
    {
      error: 'invalid_grant',
      description: 'The authorization code is bound to another DPoP key (dpop_jkt).',
      reason: 'code-dpop-key-mismatch',
    },
  ],
  [
    'no refresh_token (RFC 6749 §6)',
    () => requireRefreshToken({}),
    { error: 'invalid_request', description: 'refresh_token is required.', reason: 'refresh-token-missing' },
  ],
  [
    'a malformed scope (RFC 6749 §3.3)',
    () => requireScopeWithin({ scope: 'bad"scope' }, ['photos:read']),
    { error: 'invalid_scope', description: 'scope is malformed.', reason: 'scope-malformed' },
  ],
  [
    'a scope wider than granted (RFC 6749 §6)',
    () => requireScopeWithin({ scope: 'photos:read photos:write' }, ['photos:read']),
    {
      error: 'invalid_scope',
      description: 'Scope exceeds what was granted: photos:write.',
      reason: 'scope-exceeds-grant',
    },
  ],
  [
    'client_credentials for a public client (RFC 6749 §4.4, §2.1)',
    () => requireConfidentialClient(PUBLIC_CLIENT),
    {
      error: 'unauthorized_client',
      description: 'A public client cannot use the client_credentials grant.',
      reason: 'public-client',
    },
  ],
];

for (const [name, run, expected] of rows) t.test(name, (t) => refuses(t, run, expected));

t.test('what the checks let through', async (t) => {
  const params: RawParams = { code: 'c', code_verifier: VERIFIER, redirect_uri: CODE.redirectUri };
  t.same(requireFormBody(`${FORM}; charset=utf-8`, params), params, 'a charset parameter is fine');
  t.same(requireCodeParameters(params), { code: 'c', codeVerifier: VERIFIER, redirectUri: CODE.redirectUri });
  t.equal(requireLiveCode(CODE), CODE);
  t.doesNotThrow(() => requireSameClient(CODE, CLIENT));
  t.doesNotThrow(() => requireSameRedirectUri(CODE, CODE.redirectUri));
  t.doesNotThrow(() => requireSameRedirectUri({ ...CODE, redirectUriProvided: false }, undefined));
  // Without one in the authorization request, the one the code was bound to (the registered one) may be sent.
  t.doesNotThrow(() => requireSameRedirectUri({ ...CODE, redirectUriProvided: false }, CODE.redirectUri));
  t.doesNotThrow(() => requirePkceMatch(CODE, VERIFIER));
  t.doesNotThrow(() => requireCodeKey(BOUND, JKT), 'a proof of the bound key');
  t.doesNotThrow(() => requireCodeKey(CODE, undefined), 'an unbound code needs no proof');
  t.doesNotThrow(() => requireCodeKey(CODE, JKT), 'an unbound code takes any proof (the token is bound to it)');
  t.doesNotThrow(() => requireSupportedGrant('refresh_token', CLIENT));
  t.doesNotThrow(() => requireConfidentialClient(CLIENT));
  t.same(requireScopeWithin({}, ['photos:read', 'documents:read']), ['photos:read', 'documents:read']);
  t.same(requireScopeWithin({ scope: 'photos:read' }, ['photos:read', 'documents:read']), ['photos:read']);
});
