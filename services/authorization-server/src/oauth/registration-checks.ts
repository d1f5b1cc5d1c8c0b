// Checks of dynamic client registration requests (RFC 7591 §2, §3.1, §3.2.2) and of their management
// (RFC 7592 §2.2), each throwing one specific error: invalid_redirect_uri for a redirect URI, else
// invalid_client_metadata. Unknown fields are ignored (RFC 7591 §2: the server MUST ignore metadata it does
// not understand). What an operator may register through the clients command is in lib/client-registration.ts;
// a self-registered client gets less: no client_credentials unless the registration carried an initial
// access token, because such a client acts on its own behalf with no user ever asked.
import { OAuthError, echoInput } from '@quartet/common';
import type { JSONWebKeySet } from 'jose';
import type { ClientAuthMethod } from '../domain/records.js';
import { redirectUriProblem } from '../lib/client-registration.js';
import { checkJwks, jwksUriProblem } from '../lib/client-jwks.js';
import { clientSecretMatches } from '../lib/client-secrets.js';
import { SUPPORTED_SCOPES, parseScope } from '../lib/scopes.js';

/** RFC 8628 §3.4: the device authorization grant's grant_type. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** What anyone may register (with CLIENT_REGISTRATION=open): grants that act for a user who is asked. */
export const OPEN_GRANT_TYPES = ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT];
/** With an initial access token, also client_credentials (RFC 6749 §4.4). */
export const TRUSTED_GRANT_TYPES = [...OPEN_GRANT_TYPES, 'client_credentials'];
export const REGISTRABLE_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'none',
  'private_key_jwt',
];

// Bounds on what a registration makes the server keep.
export const MAX_REDIRECT_URIS = 10;
export const MAX_URI_LENGTH = 2000;
export const MAX_CLIENT_NAME_LENGTH = 100;
export const MAX_CONTACTS = 5;
const MAX_SHORT_TEXT = 255;
/** RFC 7591 §2 fields kept as registered and only read back (never used to decide anything). */
const DESCRIPTIVE_URIS = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri'] as const;
const DESCRIPTIVE_TEXTS = ['software_id', 'software_version'] as const;

/** A registration request that passed every check, in the server's terms. */
export interface ClientMetadata {
  clientName: string | null;
  redirectUris: string[];
  grantTypes: string[];
  responseTypes: string[];
  tokenEndpointAuthMethod: ClientAuthMethod;
  /** A private_key_jwt client's keys (RFC 7591 §2): one of the two, never both; absent for other clients. */
  jwks?: JSONWebKeySet;
  jwksUri?: string;
  scopes: string[];
  /** client_uri, logo_uri, tos_uri, policy_uri, contacts, software_id, software_version as registered. */
  descriptive: Record<string, string | string[]>;
  /** RFC 9126 §6 require_pushed_authorization_requests, RFC 9449 §5.2 dpop_bound_access_tokens (default false). */
  requirePushedAuthorizationRequests: boolean;
  dpopBoundAccessTokens: boolean;
}

export interface RegistrationPolicy {
  /** The request carried the initial access token (RFC 7591 §3): client_credentials may be registered. */
  trusted: boolean;
  /** A development (http) issuer: a jwks_uri may be an http URL on a loopback host. */
  allowLoopbackHttp?: boolean;
  /** The client authentication methods the server accepts (config.ts clientAuthMethods); all when absent. */
  acceptedAuthMethods?: readonly ClientAuthMethod[];
}

type Fields = Record<string, unknown>;

const badMetadata = (description: string, reason: string) =>
  new OAuthError('invalid_client_metadata', description, { reason });
const badRedirect = (description: string, reason: string) =>
  new OAuthError('invalid_redirect_uri', description, { reason });

/** RFC 7591 §3.1: the request is a JSON object. */
export function requireJsonObject(body: unknown): Fields {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badMetadata('The registration request must be a JSON object.', 'metadata-not-object');
  return body as Fields;
}

/** A field's value; null counts as absent (RFC 7592 §2.2: omitted fields are treated as null). */
const field = (fields: Fields, name: string): unknown => (fields[name] === null ? undefined : fields[name]);

function stringArray(fields: Fields, name: string): string[] | undefined {
  const value = field(fields, name);
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw badMetadata(`${name} must be an array of strings.`, 'metadata-malformed');
  return [...new Set(value as string[])];
}

function text(fields: Fields, name: string, max: number): string | undefined {
  const value = field(fields, name);
  if (value === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length === 0 || value.length > max || /[\x00-\x1f\x7f]/.test(value))
    throw badMetadata(`${name} must be a string of 1-${max} printable characters.`, 'metadata-malformed');
  return value;
}

/**
 * RFC 7591 §2 grant_types (default authorization_code): only grants this server issues, client_credentials
 * only to a trusted registration, and refresh_token only beside a grant that yields refresh tokens.
 */
export function readGrantTypes(fields: Fields, policy: RegistrationPolicy): string[] {
  const grantTypes = stringArray(fields, 'grant_types') ?? ['authorization_code'];
  if (grantTypes.length === 0) throw badMetadata('grant_types must name at least one grant type.', 'grant-types-empty');
  for (const grant of grantTypes) {
    if (!TRUSTED_GRANT_TYPES.includes(grant))
      throw badMetadata(`The grant type ${echoInput(grant)} is not supported.`, 'grant-type-unsupported');
    if (!policy.trusted && !OPEN_GRANT_TYPES.includes(grant))
      throw badMetadata(
        'client_credentials may only be registered with an initial access token.',
        'grant-type-needs-initial-token',
      );
  }
  if (
    grantTypes.includes('refresh_token') &&
    !grantTypes.some((g) => g === 'authorization_code' || g === DEVICE_CODE_GRANT)
  )
    throw badMetadata(
      'refresh_token needs authorization_code or the device code grant (refresh tokens come only with those).',
      'refresh-token-alone',
    );
  return grantTypes;
}

/** RFC 7591 §2.1: response_types agree with grant_types; "code" is the only response type (RFC 9700 §2.1.2). */
export function readResponseTypes(fields: Fields, grantTypes: string[]): string[] {
  const usesCode = grantTypes.includes('authorization_code');
  const responseTypes = stringArray(fields, 'response_types');
  if (responseTypes === undefined) return usesCode ? ['code'] : [];
  const unsupported = responseTypes.find((r) => r !== 'code');
  if (unsupported !== undefined)
    throw badMetadata(`The response type ${echoInput(unsupported)} is not supported.`, 'response-type-unsupported');
  if (responseTypes.includes('code') !== usesCode)
    throw badMetadata(
      'response_types must hold code exactly when grant_types include authorization_code (RFC 7591 section 2.1).',
      'response-types-inconsistent',
    );
  return responseTypes;
}

/**
 * RFC 7591 §2 redirect_uris: required for the authorization code grant and only used by it; each https or
 * loopback http, no fragment, no credentials (RFC 6749 §3.1.2, RFC 9700 §2.1, RFC 8252 §7.3), matched exactly
 * at /authorize.
 */
export function readRedirectUris(fields: Fields, grantTypes: string[]): string[] {
  let redirectUris: string[] | undefined;
  try {
    redirectUris = stringArray(fields, 'redirect_uris');
  } catch {
    throw badRedirect('redirect_uris must be an array of strings.', 'redirect-uris-malformed');
  }
  const usesCode = grantTypes.includes('authorization_code');
  if (!redirectUris || redirectUris.length === 0) {
    if (usesCode)
      throw badRedirect('redirect_uris is required for the authorization_code grant.', 'redirect-uris-missing');
    return [];
  }
  if (!usesCode)
    throw badRedirect('redirect_uris are only used by the authorization_code grant.', 'redirect-uris-unused');
  if (redirectUris.length > MAX_REDIRECT_URIS)
    throw badRedirect(`At most ${MAX_REDIRECT_URIS} redirect URIs may be registered.`, 'redirect-uris-too-many');
  for (const uri of redirectUris) {
    if (uri.length > MAX_URI_LENGTH)
      throw badRedirect(`A redirect URI may be at most ${MAX_URI_LENGTH} characters.`, 'redirect-uri-too-long');
    // The operator's texts quote the URI with ", which an error_description may not hold (RFC 6749 §5.2).
    const problem = redirectUriProblem(uri);
    if (problem) throw badRedirect(`The ${problem.replaceAll('"', "'")}.`, 'redirect-uri-refused');
  }
  return redirectUris;
}

/**
 * RFC 7591 §2 token_endpoint_auth_method (default client_secret_basic; private_key_jwt with keys, readClientKeys);
 * a client without credentials (none) cannot use client_credentials (RFC 6749 §2.1, §4.4).
 */
export function readAuthMethod(
  fields: Fields,
  grantTypes: string[],
  accepted: readonly ClientAuthMethod[] = REGISTRABLE_AUTH_METHODS,
): ClientAuthMethod {
  const value = field(fields, 'token_endpoint_auth_method') ?? 'client_secret_basic';
  const registrable = REGISTRABLE_AUTH_METHODS.filter((m) => accepted.includes(m));
  // A method the server does not accept (PROFILE=fapi2: private_key_jwt only) would register a client that can
  // never authenticate; the RFC 7591 default client_secret_basic is refused there too, so say the method.
  if (typeof value !== 'string' || !(registrable as readonly string[]).includes(value))
    throw badMetadata(
      `token_endpoint_auth_method must be one of ${registrable.join(', ')}.`,
      'auth-method-unsupported',
    );
  if (value === 'none' && grantTypes.includes('client_credentials'))
    throw badMetadata('A client without a secret cannot use client_credentials.', 'public-client-credentials');
  return value as ClientAuthMethod;
}

/**
 * RFC 7591 §2 jwks and jwks_uri: never both. A private_key_jwt client (RFC 7523 §2.2) needs exactly one: a JWK Set
 * of public signing keys (lib/client-jwks.ts), or an https URL of one, fetched through the same guard as client
 * metadata documents. Other clients have no use for keys here: theirs are ignored and not kept.
 */
export function readClientKeys(
  fields: Fields,
  method: ClientAuthMethod,
  policy: RegistrationPolicy,
): { jwks?: JSONWebKeySet; jwksUri?: string } {
  const jwks = field(fields, 'jwks');
  const jwksUri = field(fields, 'jwks_uri');
  if (jwks !== undefined && jwksUri !== undefined)
    throw badMetadata('jwks and jwks_uri must not both be present (RFC 7591 section 2).', 'jwks-and-jwks-uri');
  if (method !== 'private_key_jwt') return {};
  if (jwksUri !== undefined) {
    const problem = jwksUriProblem(jwksUri, policy.allowLoopbackHttp ?? false);
    if (problem) throw badMetadata(`${problem}.`, 'jwks-uri-refused');
    return { jwksUri: jwksUri as string };
  }
  if (jwks === undefined)
    throw badMetadata("private_key_jwt needs the client's public keys: jwks or jwks_uri.", 'jwks-missing');
  const checked = checkJwks(jwks, 'registered');
  if (checked.problem !== undefined) throw badMetadata(`${checked.problem}.`, 'jwks-refused');
  return { jwks: checked.jwks };
}

/** RFC 7591 §2 scope: space-separated scopes this server knows; when omitted, every scope it knows. */
export function readScopes(fields: Fields): string[] {
  const value = field(fields, 'scope');
  if (value === undefined) return [...SUPPORTED_SCOPES];
  const scopes = typeof value === 'string' && value !== '' ? parseScope(value) : null;
  if (!scopes) throw badMetadata('scope must be a space-separated list of scopes.', 'scope-malformed');
  const unknown = scopes.filter((s) => !SUPPORTED_SCOPES.includes(s));
  if (unknown.length > 0)
    throw badMetadata(`Scope not supported: ${echoInput(unknown.join(' '))}.`, 'scope-unsupported');
  return scopes;
}

function readUri(fields: Fields, name: string): string | undefined {
  const value = text(fields, name, MAX_URI_LENGTH);
  if (value !== undefined && !(URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)))
    throw badMetadata(`${name} must be an absolute http or https URL.`, 'metadata-malformed');
  return value;
}

/** The RFC 7591 §2 fields that only describe the client, bounded; kept as registered. */
export function readDescriptiveMetadata(fields: Fields): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const name of DESCRIPTIVE_URIS) {
    const uri = readUri(fields, name);
    if (uri !== undefined) kept[name] = uri;
  }
  for (const name of DESCRIPTIVE_TEXTS) {
    const value = text(fields, name, MAX_SHORT_TEXT);
    if (value !== undefined) kept[name] = value;
  }
  const contacts = stringArray(fields, 'contacts');
  if (contacts !== undefined) {
    if (contacts.length > MAX_CONTACTS || contacts.some((c) => c.length === 0 || c.length > MAX_SHORT_TEXT))
      throw badMetadata(
        `contacts may hold at most ${MAX_CONTACTS} entries of 1-${MAX_SHORT_TEXT} characters.`,
        'metadata-malformed',
      );
    kept.contacts = contacts;
  }
  return kept;
}

/** A boolean client metadata value, false when omitted (RFC 9126 §6, RFC 9449 §5.2 say so for theirs). */
function flag(fields: Fields, name: string): boolean {
  const value = field(fields, name) ?? false;
  if (typeof value !== 'boolean') throw badMetadata(`${name} must be true or false.`, 'metadata-not-boolean');
  return value;
}

/**
 * RFC 9126 §6 require_pushed_authorization_requests (authorization requests only through the PAR endpoint) and
 * RFC 9449 §5.2 dpop_bound_access_tokens (every token request with a DPoP proof): both only tighten the rules.
 */
export function readParAndDpopFlags(
  fields: Fields,
): Pick<ClientMetadata, 'requirePushedAuthorizationRequests' | 'dpopBoundAccessTokens'> {
  return {
    requirePushedAuthorizationRequests: flag(fields, 'require_pushed_authorization_requests'),
    dpopBoundAccessTokens: flag(fields, 'dpop_bound_access_tokens'),
  };
}

/** Every check of a registration (RFC 7591 §3.1) or a full update (RFC 7592 §2.2), in order. */
export function validateClientMetadata(body: unknown, policy: RegistrationPolicy): ClientMetadata {
  const fields = requireJsonObject(body);
  const grantTypes = readGrantTypes(fields, policy);
  const responseTypes = readResponseTypes(fields, grantTypes);
  const redirectUris = readRedirectUris(fields, grantTypes);
  const tokenEndpointAuthMethod = readAuthMethod(fields, grantTypes, policy.acceptedAuthMethods);
  return {
    grantTypes,
    responseTypes,
    redirectUris,
    tokenEndpointAuthMethod,
    ...readClientKeys(fields, tokenEndpointAuthMethod, policy),
    scopes: readScopes(fields),
    clientName: text(fields, 'client_name', MAX_CLIENT_NAME_LENGTH) ?? null,
    descriptive: readDescriptiveMetadata(fields),
    ...readParAndDpopFlags(fields),
  };
}

/**
 * RFC 7592 §2.2: an update names the client's own client_id, and a client_secret it carries must be the
 * current one (compared in constant time against the stored hash).
 */
export function requireSameRegistration(body: unknown, clientId: string, secretHash: string | null): void {
  const fields = requireJsonObject(body);
  if (fields.client_id !== clientId)
    throw badMetadata("client_id must be present and equal this client's client_id.", 'client-id-mismatch');
  const secret = field(fields, 'client_secret');
  if (secret !== undefined && (typeof secret !== 'string' || !clientSecretMatches(secret, secretHash)))
    throw badMetadata("client_secret, when sent, must be this client's current secret.", 'client-secret-mismatch');
}

/** RFC 6750 §2.1: the Bearer token of an Authorization header; null when there is none. */
export function readBearerToken(authorization: string | undefined): string | null {
  if (authorization === undefined) return null;
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization.trim());
  return match?.[1] ?? '';
}

/**
 * RFC 6750 §3.1 (as RFC 7591 §3 and RFC 7592 §2 ask): a missing token gets the Bearer challenge without an
 * error code, a wrong one invalid_token; both 401.
 */
export function invalidToken(presented: string | null, realm: string): OAuthError {
  const missing = presented === null;
  return new OAuthError('invalid_token', missing ? 'A Bearer token is required.' : 'The Bearer token is invalid.', {
    status: 401,
    reason: missing ? 'bearer-token-missing' : 'bearer-token-invalid',
    headers: {
      'www-authenticate': missing ? `Bearer realm="${realm}"` : `Bearer realm="${realm}", error="invalid_token"`,
    },
  });
}
