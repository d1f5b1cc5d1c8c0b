// Pushed authorization requests (RFC 9126), as small named checks, each throwing one specific error:
//  - at the PAR endpoint (§2.1) the pushed parameters are validated exactly as /authorize validates them
//    (authorize-checks.ts), but every failure is a JSON error of the token endpoint's kind (§2.3): nothing is
//    redirected, and a redirect URI that is missing or not registered is invalid_request;
//  - at /authorize (§4) a request_uri is accepted only in the form this server issues, once, from the client that
//    pushed it; until the pushed request is found its redirect URI is unverified, so those failures are
//    PageErrors (RFC 6749 §4.1.2.1), never a redirect;
//  - where PAR is required (server setting §5, client registration §6), a request without request_uri is
//    invalid_request, sent to the verified redirect URI (§4).
import { OAuthError } from '@quartet/common';
import type { AuthorizationRequest, ClientRecord } from '../domain/records.js';
import { PageError } from '../plugins/pages.js';
import { single, type RawParams } from '../lib/params.js';
import { REQUEST_URI_PATTERN } from '../stores/pushed-requests.js';
import {
  refuseRequestObject,
  requireAllowedScopes,
  requireCodeGrantAllowed,
  resolveRedirectUri,
  validateAuthorizationRequest,
  type Resources,
} from './authorize-checks.js';

const badRequestUri = (detail: string) => new PageError(400, 'Invalid authorization request', detail);

/**
 * RFC 9126 §2.1: a client_id in the pushed request names the client that authenticated. (A Basic-authenticated
 * client that also sends one is held to this by client authentication already; this rule covers every method.)
 */
export function requireSameClientId(params: RawParams, client: ClientRecord): void {
  const clientId = single(params, 'client_id');
  if (clientId !== undefined && clientId !== client.id)
    throw new OAuthError('invalid_request', 'client_id differs from the authenticated client.', {
      reason: 'client-id-mismatch',
    });
}

/** RFC 9126 §2.1: "The request_uri authorization request parameter is one exception, and it MUST NOT be provided." */
export function refuseRequestUri(params: RawParams): void {
  if (params.request_uri !== undefined)
    throw new OAuthError(
      'invalid_request',
      'request_uri must not be sent to the pushed authorization request endpoint.',
      {
        reason: 'par-request-uri',
      },
    );
}

/**
 * RFC 9126 §2.1 and §2.3: the redirect URI is checked as at /authorize (registered, exact match, optional only
 * for a client with exactly one), and a failure is invalid_request, since there is no verified URI to redirect to
 * and no user to show a page to.
 */
export function resolvePushedRedirectUri(params: RawParams, client: ClientRecord) {
  try {
    return resolveRedirectUri(params, client);
  } catch (err) {
    if (err instanceof PageError)
      throw new OAuthError('invalid_request', err.detail, { reason: 'redirect-uri-invalid' });
    throw err;
  }
}

/**
 * RFC 9449 §10.1: the key of a DPoP proof sent with the push binds the code, as dpop_jkt does; a client may send
 * both, and then they must name the same key. The RFC names no error code: the proof itself is valid, so
 * invalid_dpop_proof would mislead; the request contradicts itself, which is invalid_request (RFC 6749 §5.2),
 * as node-oidc-provider answers too.
 */
export function bindPushedKey(request: AuthorizationRequest, proofJkt: string | undefined): AuthorizationRequest {
  if (proofJkt === undefined) return request;
  if (request.dpopJkt !== undefined && request.dpopJkt !== proofJkt)
    throw new OAuthError('invalid_request', "dpop_jkt does not match the key of the request's DPoP proof.", {
      reason: 'dpop-jkt-mismatch',
    });
  return { ...request, dpopJkt: proofJkt };
}

/**
 * FAPI 2.0 Security Profile §5.3.2.2: the server "shall require the redirect_uri parameter in pushed authorization
 * requests" (RFC 6749 §3.1.2.3 lets a client with one registered URI leave it out; FAPI does not).
 */
export function requireRedirectUriParameter(params: RawParams): void {
  if (params.redirect_uri === undefined)
    throw new OAuthError('invalid_request', 'redirect_uri is required in a pushed authorization request.', {
      reason: 'redirect-uri-missing',
    });
}

export interface PushPolicy {
  /** PROFILE=fapi2: redirect_uri required (requireRedirectUriParameter). */
  redirectUriRequired?: boolean;
}

/** Every check of a pushed authorization request (RFC 9126 §2.1), in order; returns the request to store. */
export function validatePushedRequest(
  params: RawParams,
  client: ClientRecord,
  resources: Resources,
  proofJkt: string | undefined,
  policy: PushPolicy = {},
): AuthorizationRequest {
  requireSameClientId(params, client);
  refuseRequestUri(params);
  // Before the redirect URI (validateAuthorizationRequest checks it again for /authorize): a JAR client may carry
  // its redirect_uri only inside the request object, and should hear request_not_supported, not that it is missing.
  refuseRequestObject(params);
  if (policy.redirectUriRequired) requireRedirectUriParameter(params);
  const redirect = resolvePushedRedirectUri(params, client);
  return bindPushedKey(validateAuthorizationRequest(params, client, redirect, resources), proofJkt);
}

/** RFC 9126 §4: one request_uri, in the form this server issues; anything else is not even looked up. */
export function requireRequestUriForm(params: RawParams): string {
  const requestUri = params.request_uri;
  if (Array.isArray(requestUri)) throw badRequestUri('The request_uri parameter appears more than once.');
  if (!requestUri || !REQUEST_URI_PATTERN.test(requestUri))
    throw badRequestUri(
      'The request_uri is not one this server issued (it issues urn:ietf:params:oauth:request_uri: values at its pushed authorization request endpoint).',
    );
  return requestUri;
}

/**
 * RFC 9126 §2.2 and §4: a request_uri works once, for a short time, and only for the client that pushed it.
 * Shown, not redirected: until the pushed request is found there is no verified redirect URI.
 */
export function requirePushedByClient(pushed: AuthorizationRequest | null, client: ClientRecord): AuthorizationRequest {
  if (!pushed)
    throw badRequestUri(
      'The request_uri is unknown, has expired or was already used. Go back to the application and start again.',
    );
  if (pushed.clientId !== client.id) throw badRequestUri('The request_uri was pushed by another client.');
  return pushed;
}

/**
 * RFC 9126 §4: a pushed request is validated as any other authorization request; what was checked at the push
 * is checked again where the client's registration may have changed since. First the redirect URI (a page when it
 * is no longer registered: it cannot be trusted), then, answered by redirect, the grant and the scopes.
 */
export function recheckPushedRedirectUri(pushed: AuthorizationRequest, client: ClientRecord): void {
  if (!client.redirectUris.includes(pushed.redirectUri))
    throw badRequestUri('The redirect_uri of the pushed request is no longer registered for this client.');
}

export function recheckPushedRequest(pushed: AuthorizationRequest, client: ClientRecord): AuthorizationRequest {
  requireCodeGrantAllowed(client);
  requireAllowedScopes({ scope: pushed.scopes.join(' ') }, client);
  return pushed;
}

/**
 * RFC 9126 §4 (with §5 require_pushed_authorization_requests for the server and §6 for a client): where PAR is
 * required, "the authorization server will refuse, using the invalid_request error code, to process any request
 * to the authorization endpoint that does not have a request_uri parameter with a value obtained from the PAR
 * endpoint". The client and redirect URI are verified by then, so the refusal goes back to the client (with state
 * and iss), as node-oidc-provider does.
 */
export function requirePushedWhereRequired(client: ClientRecord, requiredByServer: boolean): void {
  if (requiredByServer)
    throw new OAuthError(
      'invalid_request',
      'This server accepts authorization requests only through its pushed authorization request endpoint (RFC 9126).',
      {
        reason: 'par-required',
      },
    );
  if (client.requirePushedAuthorizationRequests)
    throw new OAuthError(
      'invalid_request',
      'This client must push its authorization requests to the pushed authorization request endpoint (RFC 9126).',
      {
        reason: 'par-required-by-client',
      },
    );
}
