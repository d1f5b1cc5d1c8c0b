// The typed errors of the client's protocol layer (plugins/oauth-client.ts, plugins/resource-api.ts,
// plugins/connection.ts, routes/oauth.ts). Each names, with a fixed kebab-case `reason`, the rule that refused
// and carries the data a page needs; none carries a heading, a text or a link: plugins/html-errors.ts alone
// turns them into pages. No error here ever holds a token or an upstream body in what is shown or logged.

/** True for errors thrown by fetch when the peer cannot be reached or does not answer in time. */
export function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return true;
  // undici reports connection failures as TypeError('fetch failed') with the system error as cause.
  return err instanceof TypeError && err.message === 'fetch failed';
}

/**
 * The authorization server or the resource server could not be reached (network error, timeout, 5xx).
 * Answered as 503 with Retry-After: a temporary condition, never a reason to drop the user's session.
 */
export class UpstreamUnavailableError extends Error {
  constructor(
    readonly upstream: 'authorization server' | 'resource server',
    cause?: unknown,
  ) {
    super(`The ${upstream} is unavailable`, { cause });
    this.name = 'UpstreamUnavailableError';
  }
}

/**
 * Why an authorization response (GET /callback, RFC 6749 §4.1.2) was not used:
 * - missing-state, no-session, unknown-state: it cannot be matched to a request this browser made
 *   (RFC 6749 §10.12: the state is one-time and bound to the session that started the flow);
 * - untrusted-response: it did not come from our authorization server for this request (RFC 9207 §2.4 iss,
 *   or the state compare of oauth4webapi);
 * - authorization-refused: a genuine error response of our authorization server (RFC 6749 §4.1.2.1).
 */
export type CallbackRefusal =
  'missing-state' | 'no-session' | 'unknown-state' | 'untrusted-response' | 'authorization-refused';

export class CallbackError extends Error {
  /** The OAuth error code of an authorization-refused response. */
  readonly error: string | undefined;
  /** Shown as the page's detail: the library's message, or the authorization server's error_description. */
  readonly detail: string | undefined;

  constructor(
    readonly reason: CallbackRefusal,
    options: { error?: string | undefined; detail?: string | undefined; cause?: unknown } = {},
  ) {
    super(`The authorization response was not used (${reason})`, { cause: options.cause });
    this.name = 'CallbackError';
    this.error = options.error;
    this.detail = options.detail;
  }
}

/**
 * The token endpoint gave no tokens (RFC 6749 §5.2): code-refused is an OAuth error answer to the
 * authorization_code grant (the code expired, was used, or the verifier did not match); unusable-response is
 * an answer oauth4webapi could not accept (RFC 6749 §5.1). A refused refresh is RefreshRejectedError instead.
 */
export type TokenRequestFailure = 'code-refused' | 'unusable-response';

export class TokenRequestError extends Error {
  readonly error: string | undefined;
  readonly detail: string | undefined;

  constructor(
    readonly reason: TokenRequestFailure,
    readonly grant: 'authorization_code' | 'refresh_token',
    options: { error?: string | undefined; detail?: string | undefined; cause?: unknown } = {},
  ) {
    super(`The token request (${grant}) failed (${reason})`, { cause: options.cause });
    this.name = 'TokenRequestError';
    this.error = options.error;
    this.detail = options.detail;
  }
}

/**
 * The token endpoint refused a refresh with an OAuth error (RFC 6749 §5.2): invalid_grant (the refresh token
 * was revoked, already used, or expired), or invalid_client / unauthorized_client / unsupported_grant_type.
 * Either way this refresh token will never work again: the user has to connect again.
 */
export class RefreshRejectedError extends Error {
  readonly reason = 'refresh-rejected';

  constructor(readonly error: string) {
    super(`The authorization server refused the refresh token grant (${error})`);
    this.name = 'RefreshRejectedError';
  }
}

/**
 * The user's grant can no longer be used: the access token expired (or was rejected) and there is no refresh
 * token, or the authorization server refused the refresh (RFC 6749 §5.2 invalid_grant: the user withdrew the
 * access, the refresh token expired or was already used). The tokens have been dropped; the user must connect again.
 */
export class ConnectionEndedError extends Error {
  constructor(readonly reason: 'no-refresh-token' | 'refresh-rejected' | 'disconnected') {
    super(`The connection to the resource server ended (${reason})`);
    this.name = 'ConnectionEndedError';
  }
}

/**
 * The resource server did not give the resource (RFC 6750 §3.1):
 * - token-rejected: invalid_token, or a bare 401: the token is no longer good (expired, revoked);
 * - insufficient-scope: the token is valid but lacks a scope (`scope` names it when the challenge does);
 * - not-found: no such item for this user;
 * - unexpected-response: any other answer we cannot use (unexpected status or body).
 */
export type ResourceRefusal = 'token-rejected' | 'insufficient-scope' | 'not-found' | 'unexpected-response';

const RESOURCE_MESSAGES: Record<ResourceRefusal, string> = {
  'token-rejected': 'The resource server rejected the access token',
  'insufficient-scope': 'The access token lacks a required scope',
  'not-found': 'Not found at the resource server',
  'unexpected-response': 'The resource server sent an unexpected answer',
};

export class ResourceError extends Error {
  readonly status: number | undefined;
  /** insufficient-scope: the scope the resource server requires, when its challenge names it. */
  readonly scope: string | undefined;
  /** token-rejected: the challenge's error_description. */
  readonly description: string | undefined;

  constructor(
    readonly reason: ResourceRefusal,
    options: { status?: number; scope?: string | undefined; description?: string | undefined } = {},
  ) {
    super(options.status ? `${RESOURCE_MESSAGES[reason]} (${options.status})` : RESOURCE_MESSAGES[reason]);
    this.name = 'ResourceError';
    this.status = options.status;
    this.scope = options.scope;
    this.description = options.description;
  }
}
