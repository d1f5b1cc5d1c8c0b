// Validation of the authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9700 §2.1), as a list of
// small named checks. Each throws one specific error:
//  - the first group establishes the client and redirect URI; their failures are PageErrors, because
//    RFC 6749 §4.1.2.1 forbids redirecting to a URI that has not been verified;
//  - the rest throw OAuthError, which the route sends back to the verified redirect URI.
import { OAuthError, echoInput } from '@quartet/common';
import { isPublicClient, type AuthorizationRequest, type ClientRecord } from '../domain/records.js';
import { PageError } from '../plugins/pages.js';
import { CODE_CHALLENGE_PATTERN } from '../lib/pkce.js';
import { parseScope } from '../lib/scopes.js';
import { rejectRepeatedParameters, single, type RawParams } from '../lib/params.js';
import { readResource } from './resources.js';

const badClient = (detail: string) => new PageError(400, 'Invalid authorization request', detail);

/**
 * The longest value (UTF-8 bytes) accepted for each parameter a pending request stores. Anyone can send
 * /authorize, so what it keeps must be small: 2,048 bytes of state leave room for the 1,000-byte state of
 * FAPI 2.0's conformance suite and refuse the multi-kilobyte ones that only cost memory.
 */
export const MAX_PARAMETER_BYTES: Readonly<Record<string, number>> = {
  client_id: 255,
  redirect_uri: 2048,
  state: 2048,
  scope: 1024,
  resource: 2048,
  code_challenge: 128,
  code_challenge_method: 16,
  response_type: 64,
};

const tooLong = (params: RawParams, name: string) => {
  const value = params[name];
  return typeof value === 'string' && Buffer.byteLength(value) > MAX_PARAMETER_BYTES[name]!;
};

/** RFC 6749 §4.1.2.1: a missing, repeated, oversized or unknown client_id is shown to the user, never redirected. */
export function requireClientId(params: RawParams): string {
  if (Array.isArray(params.client_id)) throw badClient('The client_id parameter appears more than once.');
  if (tooLong(params, 'client_id'))
    throw badClient(`The client_id is longer than ${MAX_PARAMETER_BYTES.client_id} bytes.`);
  const clientId = single(params, 'client_id');
  if (!clientId) throw badClient('The request does not name a client (client_id is missing).');
  return clientId;
}

export function requireKnownClient(client: ClientRecord | null): ClientRecord {
  if (!client) throw badClient('The application that sent you here is not registered.');
  return client;
}

/**
 * RFC 6749 §3.1.2.3 and RFC 9700 §2.1: the redirect URI must match a registered one exactly. It may be
 * omitted only when the client registered exactly one (RFC 6749 §3.1.2.3). Failures are shown, not redirected.
 */
export function resolveRedirectUri(
  params: RawParams,
  client: ClientRecord,
): { redirectUri: string; provided: boolean } {
  if (Array.isArray(params.redirect_uri)) throw badClient('The redirect_uri parameter appears more than once.');
  const requested = single(params, 'redirect_uri');
  if (requested === undefined) {
    const [only] = client.redirectUris;
    if (client.redirectUris.length !== 1 || !only)
      throw badClient('The request has no redirect_uri and the client registered several.');
    return { redirectUri: only, provided: false };
  }
  if (!client.redirectUris.includes(requested)) throw badClient('The redirect_uri is not registered for this client.');
  return { redirectUri: requested, provided: true };
}

/** The state to echo (RFC 6749 §4.1.2.1); a repeated or oversized state cannot be echoed and is dropped. */
export function readState(params: RawParams): string | undefined {
  return tooLong(params, 'state') ? undefined : single(params, 'state');
}

/** Every stored parameter within MAX_PARAMETER_BYTES, else invalid_request naming it. */
export function rejectOversizedParameters(params: RawParams): void {
  for (const name of Object.keys(MAX_PARAMETER_BYTES)) {
    if (tooLong(params, name))
      throw new OAuthError('invalid_request', `${name} is longer than ${MAX_PARAMETER_BYTES[name]} bytes.`, {
        reason: 'parameter-too-long',
      });
  }
}

/** RFC 6749 §3.1.1, §4.1.1: response_type is required and only "code" is supported (OAuth 2.1 drops implicit). */
export function requireResponseTypeCode(params: RawParams): void {
  const responseType = single(params, 'response_type');
  if (!responseType)
    throw new OAuthError('invalid_request', 'response_type is required.', { reason: 'response-type-missing' });
  if (responseType !== 'code')
    throw new OAuthError('unsupported_response_type', 'Only response_type=code is supported.', {
      reason: 'response-type-unsupported',
    });
}

/** RFC 6749 §4.1.2.1 unauthorized_client: the client must be registered for the authorization code grant. */
export function requireCodeGrantAllowed(client: ClientRecord): void {
  if (!client.grantTypes.includes('authorization_code')) {
    throw new OAuthError('unauthorized_client', 'This client may not use the authorization code grant.', {
      reason: 'code-grant-not-allowed',
    });
  }
}

/**
 * RFC 7636 §4.3 and RFC 9700 §2.1.1: PKCE is required for every client, with S256 only ("plain" is refused);
 * RFC 7636 §4.2: an S256 challenge is the 43-character base64url encoding of a SHA-256 hash.
 */
export function requirePkceS256(params: RawParams): string {
  const challenge = single(params, 'code_challenge');
  const method = single(params, 'code_challenge_method');
  if (!challenge)
    throw new OAuthError('invalid_request', 'code_challenge is required (PKCE).', { reason: 'pkce-missing' });
  if (!method)
    throw new OAuthError('invalid_request', 'code_challenge_method is required and must be S256.', {
      reason: 'pkce-method-missing',
    });
  if (method !== 'S256')
    throw new OAuthError('invalid_request', 'Only code_challenge_method=S256 is supported.', {
      reason: 'pkce-method-unsupported',
    });
  if (!CODE_CHALLENGE_PATTERN.test(challenge)) {
    throw new OAuthError('invalid_request', 'code_challenge must be 43 characters of base64url (S256).', {
      reason: 'pkce-challenge-malformed',
    });
  }
  return challenge;
}

/**
 * RFC 6749 §3.3: the requested scopes must be a subset of the client's allowed scopes. A missing scope is
 * refused with invalid_scope (the option §3.3 gives besides a default): the client must say what it wants,
 * so the user is never asked to grant more than the client needs.
 */
export function requireAllowedScopes(params: RawParams, client: ClientRecord): string[] {
  const raw = single(params, 'scope');
  if (!raw) throw new OAuthError('invalid_scope', 'scope is required.', { reason: 'scope-missing' });
  const scopes = parseScope(raw);
  if (!scopes) throw new OAuthError('invalid_scope', 'scope is malformed.', { reason: 'scope-malformed' });
  const refused = scopes.filter((s) => !client.allowedScopes.includes(s));
  if (refused.length > 0)
    throw new OAuthError('invalid_scope', `Scope not allowed for this client: ${echoInput(refused.join(' '))}.`, {
      reason: 'scope-not-allowed',
    });
  return scopes;
}

/** RFC 7638 SHA-256 JWK thumbprint, base64url: what dpop_jkt carries (RFC 9449 §10). */
export const JKT_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * RFC 9449 §10: an optional dpop_jkt binds the code to a DPoP key; it must be a SHA-256 JWK thumbprint, or no
 * proof could ever match it and the code would be useless.
 */
export function readDpopJkt(params: RawParams): string | undefined {
  const jkt = single(params, 'dpop_jkt');
  if (jkt !== undefined && !JKT_PATTERN.test(jkt))
    throw new OAuthError(
      'invalid_request',
      'dpop_jkt must be the SHA-256 JWK thumbprint (RFC 7638) of the DPoP key: 43 characters of base64url.',
      { reason: 'dpop-jkt-malformed' },
    );
  return jkt;
}

/**
 * Request objects (RFC 9101, JAR) are not supported, at /authorize or pushed: RFC 9101 §7 defines
 * request_not_supported for a server that does not take the request parameter (RFC 9126 §3 lets a client push
 * one, optional for the server; its §2.3 allows an extension's error codes at the PAR endpoint). Silently
 * ignoring the parameter would process a request other than the one the client signed.
 */
export function refuseRequestObject(params: RawParams): void {
  if (params.request !== undefined)
    throw new OAuthError(
      'request_not_supported',
      'Request objects (the request parameter, RFC 9101) are not supported.',
      {
        reason: 'request-object',
      },
    );
}

/** Resource servers this authorization server issues tokens for: the default audience first. */
export interface Resources {
  defaultAudience: string;
  known: readonly string[];
}

/** Runs the checks that answer by redirect, in order; returns the request to store. */
export function validateAuthorizationRequest(
  params: RawParams,
  client: ClientRecord,
  redirect: { redirectUri: string; provided: boolean },
  resources: Resources,
): AuthorizationRequest {
  rejectOversizedParameters(params);
  refuseRequestObject(params);
  // RFC 8707 first: several `resource` parameters are invalid_target, not the generic repeated-parameter error.
  const resource = readResource(params, resources.known) ?? resources.defaultAudience;
  rejectRepeatedParameters(params);
  requireResponseTypeCode(params);
  requireCodeGrantAllowed(client);
  const codeChallenge = requirePkceS256(params);
  const scopes = requireAllowedScopes(params, client);
  const dpopJkt = readDpopJkt(params);
  return {
    clientId: client.id,
    redirectUri: redirect.redirectUri,
    redirectUriProvided: redirect.provided,
    scopes,
    ...(dpopJkt !== undefined ? { dpopJkt } : {}),
    state: readState(params),
    codeChallenge,
    resource,
    publicClient: isPublicClient(client),
  };
}
