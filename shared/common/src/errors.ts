// One OAuth error type for every service (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; RFC 7009; RFC 8707),
// plus the error that means "a store is down, try again" (answered as 503 with Retry-After).

/** Error codes defined by RFC 6749 and the extensions Quartet implements. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_target'
  | 'unsupported_token_type'
  // RFC 8628 §3.5: the device authorization grant's token endpoint answers.
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  // RFC 9449 §5, §7.1, §8: DPoP (400 at the token endpoint; the resource server answers them with 401).
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  // RFC 9101 §7: the request parameter (a request object) is not supported (at the PAR endpoint, RFC 9126 §2.3).
  | 'request_not_supported';

const DEFAULT_STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  unsupported_response_type: 400,
  invalid_scope: 400,
  // RFC 7591 §3.2.2 client registration errors.
  invalid_redirect_uri: 400,
  invalid_client_metadata: 400,
  access_denied: 403,
  server_error: 500,
  temporarily_unavailable: 503,
  invalid_token: 401,
  insufficient_scope: 403,
  invalid_target: 400,
  unsupported_token_type: 400,
  authorization_pending: 400,
  slow_down: 400,
  expired_token: 400,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
  request_not_supported: 400,
};

export interface OAuthErrorOptions {
  status?: number;
  headers?: Record<string, string>;
  cause?: unknown;
  /**
   * Which rule refused, as a fixed kebab-case word (`pkce-mismatch`, `code-replayed` …): what the protocol
   * core's `check.failed` event carries to metrics and workshop tracing. Never sent to the client.
   */
  reason?: string;
}

// RFC 6749 §5.2 (and RFC 6750 §3): error_description is limited to %x20-21 / %x23-5B / %x5D-7E, which leaves
// out CR, LF, every other control character, the double quote, the backslash and anything non-ASCII.
const DESCRIPTION_FORBIDDEN = /[^\x20-\x21\x23-\x5B\x5D-\x7E]/g;
/** The longest piece of request input an error description repeats back. */
export const MAX_ECHOED_INPUT = 200;
/** The longest error description sent (a safety net: our own texts are far shorter). */
export const MAX_DESCRIPTION = 1000;

/** A description within the RFC 6749 §5.2 character set and MAX_DESCRIPTION ("§" is spelled "section"). */
export function safeDescription(text: string): string {
  return text.replace(/§\s?/g, 'section ').replace(DESCRIPTION_FORBIDDEN, '?').slice(0, MAX_DESCRIPTION);
}

/**
 * Request input quoted in an error description: cut to MAX_ECHOED_INPUT characters and stripped of CR, LF
 * and other characters an error_description may not hold, so a 16 KiB parameter is not sent back whole and
 * nothing can split a header or a log line.
 */
export function echoInput(value: string): string {
  const cut = value.length > MAX_ECHOED_INPUT ? `${value.slice(0, MAX_ECHOED_INPUT)}...` : value;
  return cut.replace(DESCRIPTION_FORBIDDEN, '?');
}

/**
 * An API error with an HTTP status and a JSON body `{ error, error_description }` in the RFC 6749 §5.2 shape,
 * for answers that are not OAuth protocol errors (a quota, a full store). OAuthError is the protocol kind.
 */
export class ApiError extends Error {
  readonly error: string;
  readonly description: string;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, error: string, description: string, options: Omit<OAuthErrorOptions, 'status'> = {}) {
    const safe = safeDescription(description);
    super(`${error}: ${safe}`, { cause: options.cause });
    this.name = 'ApiError';
    this.error = error;
    this.description = safe;
    this.status = status;
    this.headers = options.headers ?? {};
  }

  /** The RFC 6749 §5.2 JSON body. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/**
 * Too busy to take this request now (a full queue or capped store, not an outage): 503
 * temporarily_unavailable with Retry-After, so the caller waits and tries again (RFC 9110 §15.6.4).
 */
export class BusyError extends ApiError {
  constructor(description: string) {
    super(503, 'temporarily_unavailable', description, { headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } });
    this.name = 'BusyError';
  }
}

export class OAuthError extends ApiError {
  declare readonly error: OAuthErrorCode;
  /** The rule that refused (see OAuthErrorOptions.reason); the error code when a check names none. */
  readonly reason: string;

  constructor(error: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    super(options.status ?? DEFAULT_STATUS[error], error, description, options);
    this.name = 'OAuthError';
    this.reason = options.reason ?? error;
  }

  override toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/**
 * Too many requests (RFC 6585 §4): 429 with Retry-After, in the OAuth JSON error shape. The code is RFC 6749's
 * temporarily_unavailable (registered, and what OAuth clients already treat as "try again later"); the 429
 * status and Retry-After tell it apart from a storage outage's 503.
 */
export function tooManyRequests(retryAfterSeconds: number, description: string): OAuthError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new OAuthError('temporarily_unavailable', description, {
    status: 429,
    headers: { 'retry-after': String(seconds) },
  });
}

/** Seconds a client should wait before retrying after a storage outage. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * A store (PostgreSQL, Redis) could not be reached. Never reported as a credential error:
 * the caller answers 503 with Retry-After, or `temporarily_unavailable` on a redirect.
 */
export class StorageUnavailableError extends Error {
  readonly store: string;
  constructor(store: string, cause?: unknown) {
    super(`${store} is unavailable`, { cause });
    this.name = 'StorageUnavailableError';
    this.store = store;
  }
}

// Codes that mean "could not talk to the store", as opposed to a query that the store refused.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
]);
// PostgreSQL SQLSTATE classes 08 (connection exception), 53 (insufficient resources), 57P (operator intervention).
const PG_OUTAGE_STATE = /^(08|53|57P)/;
// Prisma: P1001 can't reach, P1002 timed out, P1008 operation timed out, P1017 server closed, P2024 pool timeout.
const PRISMA_OUTAGE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
// @prisma/driver-adapter-utils error kinds raised by @prisma/adapter-pg.
const ADAPTER_OUTAGE_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionAlreadyClosed',
]);
const OUTAGE_MESSAGES = [
  /Connection terminated/i,
  /Connection is closed/i,
  /Stream isn't writeable/i,
  /connect ECONNREFUSED/i,
  /timeout exceeded when trying to connect/i,
  /Command timed out/i,
  /Reached the max retries per request limit/i,
  /Can't reach database server/i,
  /Server has closed the connection/i,
  /None of the \w+ connections are available/i,
];

/** True when `err` (or anything in its `cause` chain) says a store could not be reached. */
export function isStorageOutage(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    if (e instanceof StorageUnavailableError) return true;
    if (typeof e !== 'object') return false;
    const o = e as { code?: unknown; kind?: unknown; message?: unknown; cause?: unknown; name?: unknown };
    if (typeof o.code === 'string') {
      if (NETWORK_CODES.has(o.code) || PRISMA_OUTAGE_CODES.has(o.code) || PG_OUTAGE_STATE.test(o.code)) return true;
    }
    if (typeof o.kind === 'string' && ADAPTER_OUTAGE_KINDS.has(o.kind)) return true;
    if (o.name === 'PrismaClientInitializationError') return true;
    if (typeof o.message === 'string' && OUTAGE_MESSAGES.some((re) => re.test(o.message as string))) return true;
    e = o.cause;
  }
  return false;
}

/**
 * Runs a storage call and turns an outage into StorageUnavailableError, so that routes never
 * mistake a down database for "wrong credentials". Other errors pass through unchanged.
 */
export async function guardStorage<T>(store: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StorageUnavailableError) throw err;
    if (isStorageOutage(err)) throw new StorageUnavailableError(store, err);
    throw err;
  }
}
