// Verifies RFC 9068 JWT access tokens against the keys the authorization server publishes.
//
// - RFC 8414 §3 / §3.3: the AS metadata is discovered at `${issuer}/.well-known/oauth-authorization-server`
//   (the contract's location; RFC 8414 §3.1 gives the same URL for an issuer without a path) and its `issuer`
//   must be identical to the issuer we were configured with, or a look-alike server could hand us its keys.
// - RFC 7517 / RFC 8414 `jwks_uri`: keys are fetched from there and cached by RemoteKeySet
//   (remote-key-set.ts): refreshed in the background after JWKS_CACHE_MAX_AGE, kept through an outage for
//   JWKS_MAX_STALE more (RFC 5861 §4 stale-if-error), refetched for an unknown `kid` (key rotation) at most
//   once per JWKS_COOLDOWN.
// - RFC 9068 §4 and RFC 8725 §3.1, §3.8, §3.10, §3.11: signature with an algorithm allow-list (ES256 only, so
//   `none` and HS256-with-the-public-key are rejected before any key is looked up), `iss`, `aud` contains our
//   resource identifier, explicit type `typ: at+jwt` (so an ID token or other JWT cannot be replayed as an
//   access token), exp/nbf with a small clock tolerance, and the required claims sub, client_id, scope, jti, iat.
//
// Discovery is lazy: the resource server starts even when the authorization server is down, and a token is
// only answered "unavailable" (never "invalid") when its keys cannot be fetched — see KeySourceUnavailableError.
// The metadata follows the same cache rules as the keys (background refresh after metadataMaxAge, the last
// good document kept while refreshes fail, back-off), and no verification waits for the authorization server
// longer than JWKS_FETCH_TIMEOUT in all (metadata and keys together).
import { AsyncResource } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { errors, jwtVerify, type JWTVerifyGetKey, type JWTPayload } from 'jose';
import { RemoteKeySet } from './remote-key-set.js';
import { StaleIfErrorCache, type StaleIfErrorEvents } from './stale-if-error-cache.js';

/** What a verified access token grants, camelCased for use inside the service. */
export interface AccessToken {
  sub: string;
  clientId: string;
  scopes: readonly string[];
  jti: string;
  iat: number;
  exp: number;
  /**
   * RFC 9449 §6.1: the RFC 7638 thumbprint of the key the token is bound to (`cnf.jkt`); absent for a bearer
   * token. A bound token is only accepted with a DPoP proof signed by that key (plugins/token-verifier.ts).
   */
  jkt?: string;
}

/**
 * Why a token was refused, for the verification-failure metric: a fixed list, so a label never holds
 * anything taken from the token.
 */
export type InvalidTokenReason =
  | 'malformed' // not a JWS/JWT at all
  | 'alg' // an algorithm outside the allow-list (none, HS256, ...)
  | 'bad_signature'
  | 'unknown_key' // a kid the authorization server does not publish (or an ambiguous one)
  | 'typ' // not typ at+jwt: an ID token or other JWT
  | 'issuer'
  | 'audience'
  | 'expired'
  | 'not_yet_valid'
  | 'claims' // a required claim missing or of the wrong type
  | 'invalid';

/** The token is not acceptable; `description` is safe to show the client (RFC 6750 §3 error_description). */
export class InvalidTokenError extends Error {
  readonly reason: InvalidTokenReason;

  constructor(
    readonly description: string,
    options?: { cause?: unknown; reason?: InvalidTokenReason },
  ) {
    super(description, options);
    this.name = 'InvalidTokenError';
    // Without a reason: one of our own claim checks (toAccessToken).
    this.reason = options?.reason ?? 'claims';
  }
}

/**
 * The authorization server's metadata or keys could not be obtained, so we cannot tell whether the token is
 * valid. Answered 503 + Retry-After: a 401 would make clients throw away tokens that may be perfectly good.
 */
export class KeySourceUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeySourceUnavailableError';
  }
}

export const ALLOWED_ALGORITHMS = ['ES256'];
export const REQUIRED_CLAIMS = ['sub', 'client_id', 'scope', 'jti', 'iat', 'exp'];

/** The logger methods the verifier uses (pino's, hence Fastify's, fit). */
export interface VerifierLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AccessTokenVerifierOptions {
  /** The issuer identifier we trust (AUTHORIZATION_SERVER). */
  issuer: string;
  /** Our resource identifier: must be in `aud` (RESOURCE_ID). */
  audience: string;
  /** Seconds of tolerated clock skew for exp/nbf. */
  clockTolerance: number;
  /** When true, jwks_uri must be https (production). */
  requireHttps?: boolean;
  /** Milliseconds after a JWKS fetch before a token with an unknown `kid` may cause another (JWKS_COOLDOWN). */
  cooldownDuration?: number;
  /** Milliseconds after which the key set is refreshed, in the background (JWKS_CACHE_MAX_AGE). */
  cacheMaxAge?: number;
  /** Milliseconds past cacheMaxAge the last good key set is used while refreshes fail (JWKS_MAX_STALE). */
  maxStale?: number;
  /**
   * Milliseconds allowed for one metadata or JWKS request, and the longest a verification waits for the
   * authorization server in all (JWKS_FETCH_TIMEOUT).
   */
  timeoutDuration?: number;
  /** Milliseconds the discovered metadata is used before it is refreshed (in the background). */
  metadataMaxAge?: number;
  /** Milliseconds before the first retry after a failed fetch; doubled per failure up to maxRetryDelay. */
  retryDelay?: number;
  /** The longest back-off between two fetches during an outage (also at most the max age concerned). */
  maxRetryDelay?: number;
  /** Clock in milliseconds for cache ages, cooldown and back-off (tests move it); waits use real timers. */
  now?: () => number;
  /** Where outages and recoveries of the key source are reported (once each per outage); default: nowhere. */
  log?: VerifierLog;
  /** Replaces global fetch for metadata and JWKS requests (tests prefer a real local HTTP server). */
  fetch?: typeof fetch;
}

interface Discovered {
  jwksUri: string;
}

// jose errors that are about the token (its kid matches nothing, or matches ambiguously, or names a key type
// we cannot use) rather than about fetching the key set.
const TOKEN_KEY_ERRORS = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
]);

const SILENT: VerifierLog = { debug() {}, info() {}, warn() {} };

/** An error and its causes as one line for the log ("fetch failed: connect ECONNREFUSED 127.0.0.1:9000"). */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) parts.push(e.message);
  return parts.join(': ') || String(err);
}

export class AccessTokenVerifier {
  private readonly options: Required<Omit<AccessTokenVerifierOptions, 'fetch' | 'now' | 'log'>> & {
    fetch: typeof fetch;
    now: () => number;
    log: VerifierLog;
  };
  private readonly metadata: StaleIfErrorCache<Discovered>;
  private keySet: RemoteKeySet | null = null;
  // Background refreshes run in the context the verifier was built in (at start-up), never in the request
  // that noticed a cache was old (see StaleIfErrorOptions.context).
  private readonly context = new AsyncResource('AccessTokenVerifier');

  constructor(options: AccessTokenVerifierOptions) {
    this.options = {
      requireHttps: false,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
      maxStale: 86_400_000,
      timeoutDuration: 3_000,
      metadataMaxAge: 3_600_000,
      retryDelay: 1_000,
      maxRetryDelay: 60_000,
      fetch: (...args) => fetch(...args),
      now: Date.now,
      log: SILENT,
      ...options,
    };
    const o = this.options;
    this.metadata = new StaleIfErrorCache({
      load: (signal) => this.fetchMetadata(signal),
      timeout: o.timeoutDuration,
      maxAge: o.metadataMaxAge,
      // Metadata rarely changes and names no key: the last good document is kept for as long as needed (the
      // keys' own JWKS_MAX_STALE bounds what an old document can still make us accept).
      maxStale: Infinity,
      retryDelay: o.retryDelay,
      maxRetryDelay: Math.min(o.maxRetryDelay, o.metadataMaxAge),
      now: o.now,
      context: this.context,
      events: this.report('authorization server metadata', this.metadataUrl),
    });
  }

  /** Where the metadata is read from (the contract's `${AUTHORIZATION_SERVER}/.well-known/oauth-authorization-server`). */
  get metadataUrl(): string {
    return `${this.options.issuer.replace(/\/+$/, '')}/.well-known/oauth-authorization-server`;
  }

  /**
   * Verifies `token` and returns its claims. Throws InvalidTokenError (-> 401 invalid_token) or
   * KeySourceUnavailableError (-> 503); anything else is a bug.
   */
  async verify(token: string): Promise<AccessToken> {
    // One budget for everything this verification may wait for: metadata and keys together.
    const started = performance.now();
    const remainingMs = () => this.options.timeoutDuration - (performance.now() - started);
    // jose calls this only after it has parsed the header and checked `alg` against the allow-list, so a
    // malformed or `alg: none` token is rejected without any network traffic, even while the AS is down.
    const getKey: JWTVerifyGetKey = async (header, jws) => {
      try {
        const keys = await this.keys(remainingMs);
        return await keys.getKey(header, jws, remainingMs);
      } catch (err) {
        if (TOKEN_KEY_ERRORS.has((err as { code?: string }).code ?? '') || err instanceof KeySourceUnavailableError)
          throw err;
        throw new KeySourceUnavailableError('The authorization server keys could not be fetched', { cause: err });
      }
    };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ALLOWED_ALGORITHMS,
        typ: 'at+jwt',
        clockTolerance: this.options.clockTolerance,
        requiredClaims: REQUIRED_CLAIMS,
      }));
    } catch (err) {
      if (err instanceof KeySourceUnavailableError) throw err;
      if (err instanceof errors.JOSEError) {
        const { reason, description } = joseFailure(err);
        throw new InvalidTokenError(description, { cause: err, reason });
      }
      throw err;
    }
    return toAccessToken(payload);
  }

  /** The key set of the current metadata's jwks_uri; discovers the metadata first when there is none. */
  private async keys(remainingMs: () => number): Promise<RemoteKeySet> {
    const { jwksUri } = this.metadata.usable() ?? (await this.discover(remainingMs));
    // A new jwks_uri (a metadata refresh changed it) starts a new key cache; an unchanged one keeps its keys.
    if (this.keySet?.url !== jwksUri) {
      const o = this.options;
      this.keySet = new RemoteKeySet(jwksUri, {
        fetch: o.fetch,
        timeout: o.timeoutDuration,
        maxAge: o.cacheMaxAge,
        maxStale: o.maxStale,
        cooldown: o.cooldownDuration,
        retryDelay: o.retryDelay,
        maxRetryDelay: Math.min(o.maxRetryDelay, o.cacheMaxAge),
        now: o.now,
        context: this.context,
        events: this.report('authorization server key set (JWKS)', jwksUri),
      });
    }
    return this.keySet;
  }

  /** No metadata yet: fetch it (or join the fetch in flight), unless the last attempt failed too recently. */
  private async discover(remainingMs: () => number): Promise<Discovered> {
    if (this.metadata.backingOff) {
      const message = `Authorization server metadata at ${this.metadataUrl} could not be fetched; not retried yet`;
      throw new KeySourceUnavailableError(message, { cause: this.metadata.error });
    }
    try {
      return await this.metadata.fetch(remainingMs());
    } catch (err) {
      // The fetch's own reason (unreachable, issuer mismatch, ...) rather than "the fetch failed".
      const cause = (err as Error).cause;
      if (cause instanceof KeySourceUnavailableError) throw cause;
      const message = `Authorization server metadata at ${this.metadataUrl} could not be fetched`;
      throw new KeySourceUnavailableError(message, { cause: err });
    }
  }

  private async fetchMetadata(signal: AbortSignal): Promise<Discovered> {
    const url = this.metadataUrl;
    let body: unknown;
    try {
      const response = await this.options.fetch(url, {
        headers: { accept: 'application/json' },
        // A redirect could point anywhere; the metadata must come from the issuer itself (RFC 8414 §3).
        redirect: 'manual',
        signal,
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`metadata request answered HTTP ${response.status}`);
      }
      body = await response.json();
    } catch (err) {
      throw new KeySourceUnavailableError(`Authorization server metadata at ${url} could not be fetched`, {
        cause: err,
      });
    }
    const metadata = (body ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
    // RFC 8414 §3.3: the issuer in the document must be identical to the one we asked; otherwise the document
    // (and the keys it points to) belongs to someone else.
    if (metadata.issuer !== this.options.issuer) {
      throw new KeySourceUnavailableError(
        `Authorization server metadata issuer ${JSON.stringify(metadata.issuer)} does not match AUTHORIZATION_SERVER ${this.options.issuer}`,
      );
    }
    if (typeof metadata.jwks_uri !== 'string' || !URL.canParse(metadata.jwks_uri)) {
      throw new KeySourceUnavailableError('Authorization server metadata has no valid jwks_uri');
    }
    const jwksUrl = new URL(metadata.jwks_uri);
    if (this.options.requireHttps && jwksUrl.protocol !== 'https:') {
      throw new KeySourceUnavailableError('Authorization server jwks_uri must be https in production');
    }
    return { jwksUri: jwksUrl.href };
  }

  /** Log lines for a cache's outage: one warning when it begins, when stale data is served, when it expires. */
  private report<T>(what: string, url: string): StaleIfErrorEvents<T> {
    const log = this.options.log;
    const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : 'no limit');
    return {
      failed: (err, failures, retryInMs) => {
        const fields = { url, err: describe(err), failures, retryInMs };
        if (failures === 1) log.warn(fields, `${what} could not be fetched; retrying with back-off`);
        else log.debug(fields, `${what} still cannot be fetched`);
      },
      servingStale: (entry, usableUntil) =>
        log.warn(
          { url, fetchedAt: iso(entry.fetchedAt), usableUntil: iso(usableUntil) },
          `${what} is past its max age and cannot be refreshed: serving the last good copy (stale-if-error)`,
        ),
      expired: (entry) =>
        log.warn(
          { url, fetchedAt: iso(entry.fetchedAt) },
          `${what}: the last good copy is older than its max age plus JWKS_MAX_STALE and is no longer used; ` +
            'tokens are answered 503 until it can be fetched',
        ),
      recovered: (failures, since) =>
        log.info(
          { url, failedAttempts: failures, outageSeconds: Math.round((this.options.now() - since) / 1000) },
          `${what} fetched again: recovered`,
        ),
    };
  }
}

function toAccessToken(payload: JWTPayload): AccessToken {
  const { sub, client_id: clientId, scope, jti, iat, exp } = payload as Record<string, unknown>;
  // jose checked presence (requiredClaims) and the types of iat/exp/sub/jti where it knows them; client_id and
  // scope are RFC 9068 claims it does not know, so check their types here.
  if (typeof sub !== 'string' || sub === '') throw new InvalidTokenError('The access token has an invalid sub claim.');
  if (typeof clientId !== 'string' || clientId === '')
    throw new InvalidTokenError('The access token has an invalid client_id claim.');
  if (typeof scope !== 'string') throw new InvalidTokenError('The access token has an invalid scope claim.');
  if (typeof jti !== 'string' || jti === '') throw new InvalidTokenError('The access token has an invalid jti claim.');
  if (typeof iat !== 'number' || typeof exp !== 'number')
    throw new InvalidTokenError('The access token has invalid iat or exp claims.');
  // RFC 7800 §3.1 / RFC 9449 §6.1: a cnf claim binds the token to a key. One we cannot check (no jkt: an
  // mTLS x5t#S256 binding, RFC 8705, which we do not support) must not turn the token into a bearer token.
  const { cnf } = payload as { cnf?: unknown };
  let jkt: string | undefined;
  if (cnf !== undefined) {
    const value = (cnf as { jkt?: unknown } | null)?.jkt;
    if (typeof cnf !== 'object' || typeof value !== 'string' || value === '')
      throw new InvalidTokenError('The access token has a cnf claim without a jkt (only DPoP binding is supported).');
    jkt = value;
  }
  // RFC 6749 §3.3: scope is a space-delimited list.
  const scopes = scope.split(' ').filter((s) => s !== '');
  return { sub, clientId, scopes, jti, iat, exp, ...(jkt === undefined ? {} : { jkt }) };
}

/**
 * What a jose error means: the metric reason, and a description for the client that says what is wrong
 * without echoing token contents or jose's internal wording (which contains quotes, not allowed in an RFC 6750
 * §3 error_description). One switch, so the two can never disagree about a case.
 */
export function joseFailure(err: InstanceType<typeof errors.JOSEError>): {
  reason: InvalidTokenReason;
  description: string;
} {
  const failure = (reason: InvalidTokenReason, description: string) => ({ reason, description });
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return failure('expired', 'The access token expired.');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = err as InstanceType<typeof errors.JWTClaimValidationFailed>;
      if (claim === 'typ') return failure('typ', 'The token is not an access token (its typ header must be at+jwt).');
      if (claim === 'nbf') return failure('not_yet_valid', 'The access token is not valid yet.');
      if (reason === 'missing') return failure('claims', `The access token lacks the ${claim} claim.`);
      if (claim === 'iss')
        return failure('issuer', 'The access token was not issued by the trusted authorization server.');
      if (claim === 'aud') return failure('audience', 'The access token is not meant for this resource server.');
      return failure('claims', `The access token has an invalid ${claim} claim.`);
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return failure('alg', 'The access token is signed with an algorithm that is not accepted (only ES256).');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return failure('bad_signature', 'The access token signature is invalid.');
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return failure('unknown_key', 'The access token is signed with a key the authorization server does not publish.');
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return failure('unknown_key', 'The access token does not identify its signing key unambiguously.');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return failure('malformed', 'The access token is malformed.');
    default:
      return failure('invalid', 'The access token is invalid.');
  }
}
