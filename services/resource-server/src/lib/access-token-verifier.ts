// Verifies RFC 9068 JWT access tokens against the keys the authorization server publishes.
//
// - RFC 8414 §3 / §3.3: the AS metadata is discovered at `${issuer}/.well-known/oauth-authorization-server`
//   (the contract's location; RFC 8414 §3.1 gives the same URL for an issuer without a path) and its `issuer`
//   must be identical to the issuer we were configured with, or a look-alike server could hand us its keys.
// - RFC 7517 / RFC 8414 `jwks_uri`: keys are fetched from there with jose's createRemoteJWKSet, which caches
//   them, refetches when a token names an unknown `kid` (key rotation) but at most once per cooldown period,
//   and refreshes the whole set after cacheMaxAge.
// - RFC 9068 §4 and RFC 8725 §3.1, §3.8, §3.10, §3.11: signature with an algorithm allow-list (ES256 only, so
//   `none` and HS256-with-the-public-key are rejected before any key is looked up), `iss`, `aud` contains our
//   resource identifier, explicit type `typ: at+jwt` (so an ID token or other JWT cannot be replayed as an
//   access token), exp/nbf with a small clock tolerance, and the required claims sub, client_id, scope, jti, iat.
//
// Discovery is lazy: the resource server starts even when the authorization server is down, and a token is
// only answered "unavailable" (never "invalid") when its keys cannot be fetched — see KeySourceUnavailableError.
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTVerifyGetKey, type JWTPayload } from 'jose';

/** What a verified access token grants, camelCased for use inside the service. */
export interface AccessToken {
  sub: string;
  clientId: string;
  scopes: readonly string[];
  jti: string;
  iat: number;
  exp: number;
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

export interface AccessTokenVerifierOptions {
  /** The issuer identifier we trust (AUTHORIZATION_SERVER). */
  issuer: string;
  /** Our resource identifier: must be in `aud` (RESOURCE_ID). */
  audience: string;
  /** Seconds of tolerated clock skew for exp/nbf. */
  clockTolerance: number;
  /** When true, jwks_uri must be https (production). */
  requireHttps?: boolean;
  /** Minimum milliseconds between two JWKS fetches caused by unknown `kid`s (jose cooldownDuration). */
  cooldownDuration?: number;
  /** Milliseconds after which the whole key set is refetched (jose cacheMaxAge). */
  cacheMaxAge?: number;
  /** Milliseconds allowed for one metadata or JWKS request. */
  timeoutDuration?: number;
  /** Milliseconds the discovered metadata is reused before it is fetched again. */
  metadataMaxAge?: number;
  /** Replaces global fetch for metadata and JWKS requests (tests prefer a real local HTTP server). */
  fetch?: typeof fetch;
}

interface Discovered {
  jwksUri: string;
  fetchedAt: number;
  keys: JWTVerifyGetKey;
}

// jose errors that are about the token (its kid matches nothing, or matches ambiguously, or names a key type
// we cannot use) rather than about fetching the key set.
const TOKEN_KEY_ERRORS = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS', 'ERR_JOSE_NOT_SUPPORTED']);

export class AccessTokenVerifier {
  private readonly options: Required<Omit<AccessTokenVerifierOptions, 'fetch'>> & { fetch: typeof fetch };
  private discovered: Discovered | null = null;
  private pending: Promise<Discovered> | null = null;

  constructor(options: AccessTokenVerifierOptions) {
    this.options = {
      requireHttps: false,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
      timeoutDuration: 3_000,
      metadataMaxAge: 3_600_000,
      fetch: (...args) => fetch(...args),
      ...options,
    };
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
    // jose calls this only after it has parsed the header and checked `alg` against the allow-list, so a
    // malformed or `alg: none` token is rejected without any network traffic, even while the AS is down.
    const getKey: JWTVerifyGetKey = async (header, jws) => {
      const { keys } = await this.discover();
      try {
        return await keys(header, jws);
      } catch (err) {
        if (TOKEN_KEY_ERRORS.has((err as { code?: string }).code ?? '')) throw err;
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
      if (err instanceof errors.JOSEError) throw new InvalidTokenError(describeJoseError(err), { cause: err, reason: joseReason(err) });
      throw err;
    }
    return toAccessToken(payload);
  }

  /** Fetches (or reuses) the metadata and the remote key set; concurrent callers share one request. */
  private async discover(): Promise<Discovered> {
    const current = this.discovered;
    if (current && Date.now() - current.fetchedAt < this.options.metadataMaxAge) return current;
    this.pending ??= this.fetchMetadata(current).finally(() => {
      this.pending = null;
    });
    try {
      return await this.pending;
    } catch (err) {
      // Metadata rarely changes: when a refresh fails, keep using what we had rather than failing requests.
      if (current) return current;
      throw err;
    }
  }

  private async fetchMetadata(previous: Discovered | null): Promise<Discovered> {
    const url = this.metadataUrl;
    let body: unknown;
    try {
      const response = await this.options.fetch(url, {
        headers: { accept: 'application/json' },
        // A redirect could point anywhere; the metadata must come from the issuer itself (RFC 8414 §3).
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutDuration),
      });
      if (response.status !== 200) throw new Error(`metadata request answered HTTP ${response.status}`);
      body = await response.json();
    } catch (err) {
      throw new KeySourceUnavailableError(`Authorization server metadata at ${url} could not be fetched`, { cause: err });
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
    // Keep the existing key cache when the jwks_uri did not change, so a metadata refresh does not refetch keys.
    const keys =
      previous && previous.jwksUri === jwksUrl.href
        ? previous.keys
        : createRemoteJWKSet(jwksUrl, {
            cooldownDuration: this.options.cooldownDuration,
            cacheMaxAge: this.options.cacheMaxAge,
            timeoutDuration: this.options.timeoutDuration,
            [customFetch]: this.options.fetch,
          });
    const discovered = { jwksUri: jwksUrl.href, fetchedAt: Date.now(), keys };
    this.discovered = discovered;
    return discovered;
  }
}

function toAccessToken(payload: JWTPayload): AccessToken {
  const { sub, client_id: clientId, scope, jti, iat, exp } = payload as Record<string, unknown>;
  // jose checked presence (requiredClaims) and the types of iat/exp/sub/jti where it knows them; client_id and
  // scope are RFC 9068 claims it does not know, so check their types here.
  if (typeof sub !== 'string' || sub === '') throw new InvalidTokenError('The access token has an invalid sub claim.');
  if (typeof clientId !== 'string' || clientId === '') throw new InvalidTokenError('The access token has an invalid client_id claim.');
  if (typeof scope !== 'string') throw new InvalidTokenError('The access token has an invalid scope claim.');
  if (typeof jti !== 'string' || jti === '') throw new InvalidTokenError('The access token has an invalid jti claim.');
  if (typeof iat !== 'number' || typeof exp !== 'number') throw new InvalidTokenError('The access token has invalid iat or exp claims.');
  // RFC 6749 §3.3: scope is a space-delimited list.
  return { sub, clientId, scopes: scope.split(' ').filter((s) => s !== ''), jti, iat, exp };
}

/** The metric reason for a jose error (the same cases as describeJoseError). */
export function joseReason(err: InstanceType<typeof errors.JOSEError>): InvalidTokenReason {
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = err as InstanceType<typeof errors.JWTClaimValidationFailed>;
      if (claim === 'typ') return 'typ';
      if (claim === 'nbf') return 'not_yet_valid';
      if (reason === 'missing') return 'claims';
      if (claim === 'iss') return 'issuer';
      if (claim === 'aud') return 'audience';
      return 'claims';
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'alg';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad_signature';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'unknown_key';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'malformed';
    default:
      return 'invalid';
  }
}

/**
 * A description for the client that says what is wrong without echoing token contents or jose's internal
 * wording (which contains quotes, not allowed in an RFC 6750 §3 error_description).
 */
export function describeJoseError(err: InstanceType<typeof errors.JOSEError>): string {
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return 'The access token expired.';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = err as InstanceType<typeof errors.JWTClaimValidationFailed>;
      if (claim === 'typ') return 'The token is not an access token (its typ header must be at+jwt).';
      if (claim === 'nbf') return 'The access token is not valid yet.';
      if (reason === 'missing') return `The access token lacks the ${claim} claim.`;
      if (claim === 'iss') return 'The access token was not issued by the trusted authorization server.';
      if (claim === 'aud') return 'The access token is not meant for this resource server.';
      return `The access token has an invalid ${claim} claim.`;
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'The access token is signed with an algorithm that is not accepted (only ES256).';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'The access token signature is invalid.';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'The access token is signed with a key the authorization server does not publish.';
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'The access token does not identify its signing key unambiguously.';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'The access token is malformed.';
    default:
      return 'The access token is invalid.';
  }
}
