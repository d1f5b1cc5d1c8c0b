// Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document): a client_id that is an https URL
// names a JSON document with the client's metadata (RFC 7591 §2 names). The checks here are pure: the URL's
// shape (§3, Client Identifier), and the document's contents (§4, Client Metadata) as a careful server reads
// them. Every failure is a ClientMetadataDocumentError naming the problem: an error page at /authorize (a
// client that is not established has no redirect URI to be trusted, RFC 6749 §4.1.2.1), invalid_client at the
// token endpoint.
import { OAuthError } from '@quartet/common';
import type { ClientRecord } from '../domain/records.js';
import { PageError } from '../plugins/pages.js';
import { redirectUriProblem } from '../lib/client-registration.js';
import { SUPPORTED_SCOPES } from '../lib/scopes.js';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** What a client without credentials may use: the code flow (with refresh tokens) and the device grant. */
export const METADATA_DOCUMENT_GRANT_TYPES = ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT];
/** As at /authorize (MAX_PARAMETER_BYTES.client_id): longer ids are never looked up. */
export const MAX_CLIENT_ID_URL_LENGTH = 255;
const MAX_NAME_LENGTH = 100;
const MAX_REDIRECT_URIS = 20;
const MAX_REDIRECT_URI_LENGTH = 2048;
// RFC 7591 §2 methods built on a secret shared with this server, which a document published for every server
// cannot carry (the draft's restrictions on the document's contents).
const SHARED_SECRET_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'];
const PAR_AND_DPOP_FLAGS = ['require_pushed_authorization_requests', 'dpop_bound_access_tokens'];

/** The document at a client_id URL cannot be used; `problem` says why, for the client's developer. */
export class ClientMetadataDocumentError extends PageError {
  constructor(
    readonly clientId: string,
    readonly problem: string,
  ) {
    super(
      400,
      'This application cannot be used',
      `The application's client metadata document (${clientId}): ${problem}.`,
    );
    this.name = 'ClientMetadataDocumentError';
  }
}

/** The same failure at the token endpoint (RFC 6749 §5.2 invalid_client): the client is not established. */
export function invalidDocumentClient(err: ClientMetadataDocumentError): OAuthError {
  return new OAuthError('invalid_client', `Client metadata document: ${err.problem}.`, {
    status: 401,
    reason: 'client-metadata-document',
  });
}

/** For a look-up that only names a client (sign-out): an unusable document is no client; other errors go on. */
export function unlessUnusableDocument(err: unknown): null {
  if (err instanceof ClientMetadataDocumentError) return null;
  throw err;
}

/**
 * Whether a client_id is to be read as a metadata document URL rather than looked up: an https URL, or with a
 * development (http) issuer also an http one, which clientIdUrlProblem then limits to loopback hosts. Ids this
 * server generates are base64url and never contain ":".
 */
export function isMetadataDocumentUrl(clientId: string, allowLoopbackHttp: boolean): boolean {
  return clientId.startsWith('https://') || (allowLoopbackHttp && clientId.startsWith('http://'));
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
// A "." or ".." path segment, also percent-encoded (RFC 3986 §3.3, §2.1).
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?=[/?]|$)/i;

/** Draft §3: why `clientId` cannot be a client identifier URL, or null when it can. */
export function clientIdUrlProblem(clientId: string, allowLoopbackHttp: boolean): string | null {
  if (clientId.length > MAX_CLIENT_ID_URL_LENGTH)
    return `the URL is longer than ${MAX_CLIENT_ID_URL_LENGTH} characters`;
  if (!URL.canParse(clientId)) return 'the client_id is not a valid URL';
  const url = new URL(clientId);
  const loopbackHttp = allowLoopbackHttp && url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !loopbackHttp)
    return allowLoopbackHttp
      ? 'the URL must use https (http only on localhost or a loopback address, with a development issuer)'
      : 'the URL must use https';
  if (clientId.includes('#')) return 'the URL must not contain a fragment';
  if (url.username || url.password) return 'the URL must not contain a username or password';
  const path = clientId.slice(url.origin.length).split('?')[0] ?? '';
  if (DOT_SEGMENT.test(path)) return 'the URL must not contain "." or ".." path segments';
  if (path === '' || path === '/') return 'the URL must have a path';
  // Compared as strings later (the document's client_id, grants, consents): only the normal form of a URL is
  // accepted, so one client cannot appear under several spellings (an upper-case host, a default port …).
  if (url.href !== clientId) return `the URL is not in its normal form (${url.href})`;
  return null;
}

/** What a valid document gives: the client to use, and the metadata to keep with its row. */
export interface DocumentClient {
  record: ClientRecord;
  metadata: Record<string, unknown>;
}

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((v) => typeof v === 'string');

/** Draft §4 and RFC 7591 §2: the client a document describes; throws ClientMetadataDocumentError listing every problem. */
export function clientFromMetadataDocument(clientId: string, document: unknown): DocumentClient {
  const fail = (problem: string) => new ClientMetadataDocumentError(clientId, problem);
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    throw fail('the document is not a JSON object');
  const doc = document as Record<string, unknown>;
  // Draft §4: simple string comparison (RFC 3986 §6.2.1) with the URL it was fetched from.
  if (doc.client_id !== clientId) throw fail('its client_id does not equal the URL it was fetched from');

  const problems: string[] = [];
  const method = doc.token_endpoint_auth_method ?? 'none';
  if (typeof method !== 'string' || SHARED_SECRET_METHODS.includes(method))
    problems.push('token_endpoint_auth_method must not be a shared-secret method (use none)');
  else if (method !== 'none') problems.push(`token_endpoint_auth_method "${method}" is not supported (use none)`);
  if ('client_secret' in doc || 'client_secret_expires_at' in doc)
    problems.push('client_secret and client_secret_expires_at must not be used');

  const grantTypes = doc.grant_types ?? ['authorization_code'];
  if (!isStringArray(grantTypes) || grantTypes.length === 0) problems.push('grant_types must be a list of strings');
  else
    for (const grant of grantTypes)
      if (!METADATA_DOCUMENT_GRANT_TYPES.includes(grant)) problems.push(`grant type "${grant}" is not allowed`);
  const grants = isStringArray(grantTypes) ? [...new Set(grantTypes)] : [];
  if (grants.includes('refresh_token') && !grants.includes('authorization_code'))
    problems.push('refresh_token needs authorization_code');

  const responseTypes = doc.response_types ?? ['code'];
  if (!isStringArray(responseTypes) || responseTypes.some((r) => r !== 'code'))
    problems.push('response_types may only contain "code"');

  const redirectUris = doc.redirect_uris ?? [];
  if (!isStringArray(redirectUris)) problems.push('redirect_uris must be a list of strings');
  else {
    if (redirectUris.length > MAX_REDIRECT_URIS) problems.push(`at most ${MAX_REDIRECT_URIS} redirect_uris`);
    for (const uri of redirectUris.slice(0, MAX_REDIRECT_URIS)) {
      const problem =
        uri.length > MAX_REDIRECT_URI_LENGTH
          ? `a redirect URI is longer than ${MAX_REDIRECT_URI_LENGTH} characters`
          : redirectUriProblem(uri);
      if (problem) problems.push(problem);
    }
    if (grants.includes('authorization_code') && redirectUris.length === 0)
      problems.push('authorization_code needs at least one redirect URI');
  }

  // RFC 7591 §2 scope; without one, the client may ask for any scope (the user still approves each).
  const scope = doc.scope ?? SUPPORTED_SCOPES.join(' ');
  const scopes = typeof scope === 'string' ? [...new Set(scope.split(' ').filter(Boolean))] : [];
  if (typeof scope !== 'string' || scopes.length === 0) problems.push('scope must be a space-separated string');
  for (const s of scopes) if (!SUPPORTED_SCOPES.includes(s)) problems.push(`scope "${s}" is not supported`);

  // Without a name the consent page names the host the document came from.
  const name = doc.client_name ?? new URL(clientId).host;
  // eslint-disable-next-line no-control-regex
  if (typeof name !== 'string' || !name.trim() || name.length > MAX_NAME_LENGTH || /[\x00-\x1f\x7f]/.test(name))
    problems.push(`client_name must be 1 to ${MAX_NAME_LENGTH} printable characters`);

  // RFC 9126 §6 and RFC 9449 §5.2 booleans, false when absent: a document may only tighten what its client gets.
  for (const flag of PAR_AND_DPOP_FLAGS)
    if (doc[flag] !== undefined && typeof doc[flag] !== 'boolean') problems.push(`${flag} must be true or false`);

  if (problems.length) throw fail(problems.join('; '));
  return {
    record: {
      id: clientId,
      name: (name as string).trim(),
      secretHash: null,
      redirectUris: [...new Set(redirectUris as string[])],
      allowedScopes: scopes,
      grantTypes: grants,
      registration: 'metadata_document',
      tokenEndpointAuthMethod: 'none',
      requirePushedAuthorizationRequests: doc.require_pushed_authorization_requests === true,
      dpopBoundAccessTokens: doc.dpop_bound_access_tokens === true,
    },
    metadata: doc,
  };
}
