// Errors the client app turns into HTML pages (see plugins/html-errors.ts). A browser user gets a readable
// page with a next step; no stack trace or upstream message that might carry a secret is ever shown.
import { RETRY_AFTER_SECONDS } from '@quartet/common';

export interface PageAction {
  href: string;
  label: string;
}

export interface PageErrorOptions {
  headers?: Record<string, string>;
  action?: PageAction;
  detail?: string;
  cause?: unknown;
}

/** An error that is shown to the user as a page with this status, heading and explanation. */
export class PageError extends Error {
  readonly headers: Record<string, string>;
  readonly action: PageAction | undefined;
  readonly detail: string | undefined;

  constructor(
    readonly status: number,
    readonly heading: string,
    readonly explanation: string,
    options: PageErrorOptions = {},
  ) {
    super(`${heading}: ${explanation}`, { cause: options.cause });
    this.name = 'PageError';
    this.headers = options.headers ?? {};
    this.action = options.action;
    this.detail = options.detail;
  }
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

export const RETRY_AFTER = String(RETRY_AFTER_SECONDS);

/** True for errors thrown by fetch when the peer cannot be reached or does not answer in time. */
export function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return true;
  // undici reports connection failures as TypeError('fetch failed') with the system error as cause.
  return err instanceof TypeError && err.message === 'fetch failed';
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
