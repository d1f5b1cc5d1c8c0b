// Dynamic client registration checks (src/oauth/registration-checks.ts, RFC 7591 §2, §3.2.2; RFC 7592 §2.2):
// one table row per refusal with the exact answer, and what a valid request becomes.
import t from 'tap';
import {
  DEVICE_CODE_GRANT,
  invalidToken,
  readBearerToken,
  requireSameRegistration,
  validateClientMetadata,
  type RegistrationPolicy,
} from '../../src/oauth/registration-checks.js';
import { hashClientSecret } from '../../src/lib/client-secrets.js';
import { refuses, type Refusal } from './refusals.js';
import { clientKey } from '../client-assertion-fixtures.js';

const OPEN = { trusted: false };
const TRUSTED = { trusted: true };
const WEB = { redirect_uris: ['https://app.example/cb'], client_name: 'Photo Frame' };

const metadata = (description: string, reason: string): Refusal => ({
  error: 'invalid_client_metadata',
  description,
  reason,
});
const redirect = (description: string, reason: string): Refusal => ({
  error: 'invalid_redirect_uri',
  description,
  reason,
});

const key = await clientKey('ES256', 'k1');
const KEYS = { keys: [key.jwk] };
const KEYED = { ...WEB, token_endpoint_auth_method: 'private_key_jwt' };

const rows: [string, unknown, Refusal, RegistrationPolicy?][] = [
  ['not a JSON object', ['x'], metadata('The registration request must be a JSON object.', 'metadata-not-object')],
  ['null', null, metadata('The registration request must be a JSON object.', 'metadata-not-object')],
  [
    'grant_types not an array of strings',
    { ...WEB, grant_types: 'authorization_code' },
    metadata('grant_types must be an array of strings.', 'metadata-malformed'),
  ],
  [
    'no grant type at all',
    { ...WEB, grant_types: [] },
    metadata('grant_types must name at least one grant type.', 'grant-types-empty'),
  ],
  [
    'an unsupported grant (implicit is gone, RFC 9700 §2.1.2)',
    { ...WEB, grant_types: ['implicit'] },
    metadata('The grant type implicit is not supported.', 'grant-type-unsupported'),
  ],
  [
    'client_credentials without an initial access token',
    { grant_types: ['client_credentials'] },
    metadata(
      'client_credentials may only be registered with an initial access token.',
      'grant-type-needs-initial-token',
    ),
  ],
  [
    'refresh_token alone',
    { grant_types: ['refresh_token'] },
    metadata(
      'refresh_token needs authorization_code or the device code grant (refresh tokens come only with those).',
      'refresh-token-alone',
    ),
  ],
  [
    'response type token (RFC 7591 §2.1)',
    { ...WEB, response_types: ['token'] },
    metadata('The response type token is not supported.', 'response-type-unsupported'),
  ],
  [
    'response_types without code for the code grant',
    { ...WEB, response_types: [] },
    metadata(
      'response_types must hold code exactly when grant_types include authorization_code (RFC 7591 section 2.1).',
      'response-types-inconsistent',
    ),
  ],
  [
    'no redirect URI for the code grant',
    { client_name: 'x' },
    redirect('redirect_uris is required for the authorization_code grant.', 'redirect-uris-missing'),
  ],
  [
    'redirect_uris not an array',
    { redirect_uris: 'https://app.example/cb' },
    redirect('redirect_uris must be an array of strings.', 'redirect-uris-malformed'),
  ],
  [
    'redirect URIs on a device client',
    { ...WEB, grant_types: [DEVICE_CODE_GRANT] },
    redirect('redirect_uris are only used by the authorization_code grant.', 'redirect-uris-unused'),
  ],
  [
    'eleven redirect URIs',
    { redirect_uris: Array.from({ length: 11 }, (_, i) => `https://app.example/${i}`) },
    redirect('At most 10 redirect URIs may be registered.', 'redirect-uris-too-many'),
  ],
  [
    'a very long redirect URI',
    { redirect_uris: [`https://app.example/${'a'.repeat(2000)}`] },
    redirect('A redirect URI may be at most 2000 characters.', 'redirect-uri-too-long'),
  ],
  [
    'a fragment (RFC 6749 §3.1.2)',
    { redirect_uris: ['https://app.example/cb#x'] },
    redirect("The redirect URI 'https://app.example/cb#x' must not contain a fragment (#).", 'redirect-uri-refused'),
  ],
  [
    'plain http off loopback (RFC 9700 §2.1)',
    { redirect_uris: ['http://app.example/cb'] },
    redirect(
      "The redirect URI 'http://app.example/cb' must use https (http is allowed only on localhost or a loopback address).",
      'redirect-uri-refused',
    ),
  ],
  [
    'a relative redirect URI',
    { redirect_uris: ['/cb'] },
    redirect("The redirect URI '/cb' is not an absolute URI.", 'redirect-uri-refused'),
  ],
  [
    'an unknown authentication method (client_secret_jwt is not offered)',
    { ...WEB, token_endpoint_auth_method: 'client_secret_jwt' },
    metadata(
      'token_endpoint_auth_method must be one of client_secret_basic, client_secret_post, none, private_key_jwt.',
      'auth-method-unsupported',
    ),
  ],
  [
    'PROFILE=fapi2: the RFC 7591 default client_secret_basic is not accepted (FAPI 2.0 §5.3.2.1)',
    WEB,
    metadata('token_endpoint_auth_method must be one of private_key_jwt.', 'auth-method-unsupported'),
    { ...OPEN, acceptedAuthMethods: ['private_key_jwt'] },
  ],
  [
    'PROFILE=fapi2: none (a public client) is not accepted',
    { ...WEB, token_endpoint_auth_method: 'none' },
    metadata('token_endpoint_auth_method must be one of private_key_jwt.', 'auth-method-unsupported'),
    { ...OPEN, acceptedAuthMethods: ['private_key_jwt'] },
  ],
  [
    'private_key_jwt without keys (RFC 7523 §2.2)',
    KEYED,
    metadata("private_key_jwt needs the client's public keys: jwks or jwks_uri.", 'jwks-missing'),
  ],
  [
    'jwks and jwks_uri both (RFC 7591 §2: MUST NOT)',
    { ...KEYED, jwks: KEYS, jwks_uri: 'https://app.example/jwks.json' },
    metadata('jwks and jwks_uri must not both be present (RFC 7591 section 2).', 'jwks-and-jwks-uri'),
  ],
  [
    'jwks with a private key',
    { ...KEYED, jwks: { keys: [{ ...key.jwk, d: 'AAAA' }] } },
    metadata("jwks key 1 holds private or symmetric key material ('d'): register public keys only.", 'jwks-refused'),
  ],
  [
    'jwks that is not a JWK Set',
    { ...KEYED, jwks: [key.jwk] },
    metadata('jwks must be a JWK Set: an object with keys.', 'jwks-refused'),
  ],
  [
    'a jwks_uri over http (https only, RFC 7591 §2 and the metadata document guard)',
    { ...KEYED, jwks_uri: 'http://app.example/jwks.json' },
    metadata('jwks_uri must use https.', 'jwks-uri-refused'),
  ],
  [
    'client_credentials without a secret',
    { grant_types: ['client_credentials'], token_endpoint_auth_method: 'none' },
    metadata('A client without a secret cannot use client_credentials.', 'public-client-credentials'),
    TRUSTED,
  ],
  [
    'an empty scope',
    { ...WEB, scope: '' },
    metadata('scope must be a space-separated list of scopes.', 'scope-malformed'),
  ],
  [
    'a scope this server does not know',
    { ...WEB, scope: 'photos:read admin' },
    metadata('Scope not supported: admin.', 'scope-unsupported'),
  ],
  [
    'a client_name with a line break',
    { ...WEB, client_name: 'a\nb' },
    metadata('client_name must be a string of 1-100 printable characters.', 'metadata-malformed'),
  ],
  [
    'a logo_uri that is not a URL',
    { ...WEB, logo_uri: 'javascript:alert(1)' },
    metadata('logo_uri must be an absolute http or https URL.', 'metadata-malformed'),
  ],
  [
    'six contacts',
    { ...WEB, contacts: ['a', 'b', 'c', 'd', 'e', 'f'] },
    metadata('contacts may hold at most 5 entries of 1-255 characters.', 'metadata-malformed'),
  ],
  [
    'require_pushed_authorization_requests as a string (RFC 9126 section 6: a boolean)',
    { ...WEB, require_pushed_authorization_requests: 'true' },
    metadata('require_pushed_authorization_requests must be true or false.', 'metadata-not-boolean'),
  ],
  [
    'dpop_bound_access_tokens as a number (RFC 9449 section 5.2: a boolean)',
    { ...WEB, dpop_bound_access_tokens: 1 },
    metadata('dpop_bound_access_tokens must be true or false.', 'metadata-not-boolean'),
  ],
];

for (const [name, body, expected, policy] of rows)
  t.test(name, (t) => refuses(t, () => validateClientMetadata(body, policy ?? OPEN), expected));

t.test('a web app: defaults of RFC 7591 §2, unknown fields ignored, descriptive fields kept', async (t) => {
  t.same(
    validateClientMetadata(
      { ...WEB, client_uri: 'https://app.example/', contacts: ['ops@app.example'], jwks_uri: 'x', foo: 1 },
      OPEN,
    ),
    {
      grantTypes: ['authorization_code'],
      responseTypes: ['code'],
      redirectUris: ['https://app.example/cb'],
      tokenEndpointAuthMethod: 'client_secret_basic',
      scopes: ['photos:read', 'photos:write', 'documents:read', 'documents:write'],
      clientName: 'Photo Frame',
      descriptive: { client_uri: 'https://app.example/', contacts: ['ops@app.example'] },
      requirePushedAuthorizationRequests: false,
      dpopBoundAccessTokens: false,
    },
  );
});

t.test('require_pushed_authorization_requests and dpop_bound_access_tokens are kept as registered', async (t) => {
  t.match(
    validateClientMetadata(
      { ...WEB, require_pushed_authorization_requests: true, dpop_bound_access_tokens: true },
      OPEN,
    ),
    { requirePushedAuthorizationRequests: true, dpopBoundAccessTokens: true },
  );
  t.match(
    validateClientMetadata(
      { ...WEB, require_pushed_authorization_requests: false, dpop_bound_access_tokens: null },
      OPEN,
    ),
    { requirePushedAuthorizationRequests: false, dpopBoundAccessTokens: false },
    'false, and null counts as absent (RFC 7592 section 2.2)',
  );
});

t.test('a device client: public, no redirect URI, no response type; null counts as absent', async (t) => {
  t.match(
    validateClientMetadata(
      {
        grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
        token_endpoint_auth_method: 'none',
        scope: 'photos:read',
        redirect_uris: null,
      },
      OPEN,
    ),
    { grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'], responseTypes: [], redirectUris: [], clientName: null },
  );
});

t.test('private_key_jwt: the keys kept, no other client keeps any', async (t) => {
  t.match(validateClientMetadata({ ...KEYED, jwks: KEYS }, OPEN), {
    tokenEndpointAuthMethod: 'private_key_jwt',
    jwks: KEYS,
  });
  const byUri = validateClientMetadata({ ...KEYED, jwks_uri: 'https://app.example/jwks.json' }, OPEN);
  t.equal(byUri.jwksUri, 'https://app.example/jwks.json');
  t.notOk('jwks' in byUri);
  t.equal(
    validateClientMetadata(
      { ...KEYED, jwks_uri: 'http://127.0.0.1:8080/jwks.json' },
      { ...OPEN, allowLoopbackHttp: true },
    ).jwksUri,
    'http://127.0.0.1:8080/jwks.json',
    'loopback http with a development issuer',
  );
  t.match(
    validateClientMetadata(
      { grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks: KEYS },
      TRUSTED,
    ),
    { grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'private_key_jwt' },
    'a private_key_jwt client is confidential: client_credentials with the initial access token',
  );
  const secretClient = validateClientMetadata({ ...WEB, jwks: KEYS }, OPEN);
  t.notOk('jwks' in secretClient, "a secret client's keys have no use here and are not kept");
});

t.test('client_credentials with the initial access token', async (t) => {
  t.match(validateClientMetadata({ grant_types: ['client_credentials'] }, TRUSTED), {
    grantTypes: ['client_credentials'],
    tokenEndpointAuthMethod: 'client_secret_basic',
  });
});

const secretHash = hashClientSecret('the-secret');
const updateRows: [string, unknown, Refusal][] = [
  [
    'an update without client_id (RFC 7592 §2.2)',
    { ...WEB },
    metadata("client_id must be present and equal this client's client_id.", 'client-id-mismatch'),
  ],
  [
    "an update naming another client's id",
    { ...WEB, client_id: 'other' },
    metadata("client_id must be present and equal this client's client_id.", 'client-id-mismatch'),
  ],
  [
    'an update with a wrong client_secret',
    { ...WEB, client_id: 'me', client_secret: 'wrong' },
    metadata("client_secret, when sent, must be this client's current secret.", 'client-secret-mismatch'),
  ],
];
for (const [name, body, expected] of updateRows)
  t.test(name, (t) => refuses(t, () => requireSameRegistration(body, 'me', secretHash), expected));

t.test('an update with its own id and current secret passes', async (t) => {
  t.doesNotThrow(() => requireSameRegistration({ client_id: 'me', client_secret: 'the-secret' }, 'me', secretHash));
  t.doesNotThrow(() => requireSameRegistration({ client_id: 'me' }, 'me', null));
});

t.test('Bearer tokens (RFC 6750 §2.1) and the invalid_token answer (§3.1)', async (t) => {
  t.equal(readBearerToken(undefined), null);
  t.equal(readBearerToken('Bearer abc-_.~+/='), 'abc-_.~+/=');
  t.equal(readBearerToken('Basic abc'), '', 'another scheme is a wrong token, not a missing one');
  const missing = invalidToken(null, 'quartet');
  t.same(
    { status: missing.status, body: missing.toJSON(), headers: missing.headers },
    {
      status: 401,
      body: { error: 'invalid_token', error_description: 'A Bearer token is required.' },
      headers: { 'www-authenticate': 'Bearer realm="quartet"' },
    },
  );
  const wrong = invalidToken('x', 'quartet');
  t.same(
    { status: wrong.status, body: wrong.toJSON(), headers: wrong.headers },
    {
      status: 401,
      body: { error: 'invalid_token', error_description: 'The Bearer token is invalid.' },
      headers: { 'www-authenticate': 'Bearer realm="quartet", error="invalid_token"' },
    },
  );
});
