// private_key_jwt: a client authenticates with a JWT it signed with its own private key (RFC 7521 §4.2, RFC 7523
// §2.2, §3), sent as client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer and
// client_assertion. One small check per rule, each with its own error, in the order authenticateClient runs them:
//
// - the request (readAssertionParameters): both parameters, the jwt-bearer type — else invalid_request, as RFC
//   6749 §5.2 answers a missing parameter or an unsupported value;
// - the assertion's own claims, which need no client (checkAssertionClaims): a JWT, an allowed asymmetric alg,
//   iss = sub = the client_id, aud this server, exp not passed, nbf reached, a short lifetime, a jti — each
//   invalid_client (RFC 7521 §4.2.1) with a description of what is wrong in the assertion the caller sent, which
//   tells nothing about any client;
// - then the client's keys and the signature (ClientAssertionVerifier.verifySignature): an unknown client, a client
//   with no registered keys and a signature no registered key verifies get the same "Client authentication
//   failed." as an unknown client and a wrong secret do;
// - last, single use of the jti until exp (RFC 7523 §3 item 7), recorded only for an assertion whose signature
//   verified, so strangers cannot fill the replay guard.
import { createHash } from 'node:crypto';
import { OAuthError, type ReplayGuard } from '@quartet/common';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type CryptoKey,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import type { ClientRecord } from '../domain/records.js';
import { single, type RawParams } from '../lib/params.js';
import { CLIENT_ASSERTION_ALGORITHMS } from '../lib/client-jwks.js';
import type { ClientKeySource } from './client-keys.js';

export { CLIENT_ASSERTION_ALGORITHMS };
/** RFC 7523 §2.2: the client_assertion_type of a JWT client assertion. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** RFC 7523 §3 item 4: "some small leeway … to account for clock skew" (as for DPoP proofs). */
export const CLOCK_SKEW_SECONDS = 5;
const MAX_ASSERTION_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;

/** A client assertion as sent, decoded but not verified yet. */
export interface ClientAssertion {
  jwt: string;
  header: ProtectedHeaderParameters;
  claims: JWTPayload;
}

/** What a successful check of the claims leaves for the replay guard. */
export interface AssertionUse {
  jti: string;
  exp: number;
}

const assertionRefused = (description: string, reason: string) =>
  new OAuthError('invalid_client', description, { status: 401, reason });

/**
 * RFC 7521 §4.2: client_assertion_type and client_assertion come together, and the type is the one RFC 7523 §2.2
 * defines. Undefined when neither is sent (another method is in use).
 */
export function readAssertionParameters(params: RawParams): string | undefined {
  const type = single(params, 'client_assertion_type');
  const assertion = single(params, 'client_assertion');
  if (type === undefined && assertion === undefined) return undefined;
  if (type === undefined)
    throw new OAuthError('invalid_request', 'client_assertion needs client_assertion_type.', {
      reason: 'client-assertion-type-missing',
    });
  if (type !== JWT_BEARER_ASSERTION_TYPE)
    throw new OAuthError('invalid_request', `client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}.`, {
      reason: 'client-assertion-type-unsupported',
    });
  if (assertion === undefined || assertion === '')
    throw new OAuthError('invalid_request', 'client_assertion_type needs a client_assertion.', {
      reason: 'client-assertion-missing',
    });
  return assertion;
}

/** RFC 7523 §3 item 9: a signed JWT in the JWS compact serialization (RFC 7515 §7.1). */
export function decodeAssertion(jwt: string): ClientAssertion {
  const malformed = () => assertionRefused('The client assertion is not a signed JWT.', 'client-assertion-malformed');
  if (jwt.length > MAX_ASSERTION_LENGTH || jwt.split('.').length !== 3) throw malformed();
  try {
    return { jwt, header: decodeProtectedHeader(jwt), claims: decodeJwt(jwt) };
  } catch {
    throw malformed();
  }
}

/**
 * RFC 7523 §3 items 1-2 (RFC 7521 §5.2): for client authentication iss and sub are both the client_id. Returns it:
 * the client the request claims to be.
 */
export function requireClientIssuer(assertion: ClientAssertion): string {
  const { iss, sub } = assertion.claims;
  if (typeof iss !== 'string' || typeof sub !== 'string' || iss === '' || sub === '')
    throw assertionRefused(
      'The client assertion needs iss and sub, both the client_id (RFC 7523 section 3).',
      'client-assertion-issuer-missing',
    );
  if (iss !== sub)
    throw assertionRefused(
      'The client assertion must have iss equal to sub: both are the client_id.',
      'client-assertion-issuer-mismatch',
    );
  return sub;
}

/** RFC 7521 §4.2: a client_id sent beside the assertion must name the client the assertion names. */
export function requireSameClientId(bodyClientId: string | undefined, assertedClientId: string): void {
  if (bodyClientId !== undefined && bodyClientId !== assertedClientId)
    throw assertionRefused(
      "client_id differs from the client assertion's iss and sub.",
      'client-assertion-client-id-mismatch',
    );
}

/** RFC 7523 §3 item 9, RFC 8725 §3.1: an asymmetric algorithm on the allow-list; never none, never a MAC. */
export function requireAllowedAlgorithm(
  assertion: ClientAssertion,
  algorithms: readonly string[] = CLIENT_ASSERTION_ALGORITHMS,
): void {
  const { alg } = assertion.header;
  if (typeof alg !== 'string' || !algorithms.includes(alg))
    throw assertionRefused(
      `The client assertion must be signed with one of ${algorithms.join(', ')}.`,
      'client-assertion-alg',
    );
}

/**
 * RFC 7523 §3 item 3: aud identifies this server — its issuer identifier, or (when `endpointUrl` is given) the URL
 * of the endpoint the assertion is presented at, which RFC 7523 allows; a string or an array holding one of them.
 * A FAPI 2.0 profile passes no endpoint URL: only the issuer (FAPI 2.0 Security Profile §5.3.2.1, the audience
 * injection attack on assertions whose aud is a URL taken from another server's metadata).
 */
export function requireAudience(assertion: ClientAssertion, issuer: string, endpointUrl?: string): void {
  const { aud } = assertion.claims;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  const accepted = endpointUrl === undefined ? [issuer] : [issuer, endpointUrl];
  if (!audiences.some((a) => accepted.includes(a)))
    throw assertionRefused(
      endpointUrl === undefined
        ? `The client assertion's aud must be this server's issuer identifier, ${issuer}.`
        : `The client assertion's aud must be this server's issuer identifier, ${issuer} (or ${endpointUrl}).`,
      'client-assertion-audience',
    );
}

/**
 * FAPI 2.0 Security Profile §5.3.2.1: the server "shall only accept its issuer identifier value … as a string in
 * the aud claim received in client authentication assertions" — no endpoint URL and no array, so that an
 * assertion made for this server cannot be one another server would accept as well.
 */
export function requireIssuerStringAudience(assertion: ClientAssertion, issuer: string): void {
  if (assertion.claims.aud !== issuer)
    throw assertionRefused(
      `The client assertion's aud must be this server's issuer identifier as a string, ${issuer}.`,
      'client-assertion-audience',
    );
}

const numeric = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** RFC 7523 §3 item 4: exp is required and not passed (within CLOCK_SKEW_SECONDS). */
export function requireUnexpired(assertion: ClientAssertion, now: number, skew = CLOCK_SKEW_SECONDS): number {
  const { exp } = assertion.claims;
  if (!numeric(exp))
    throw assertionRefused('The client assertion needs a numeric exp claim.', 'client-assertion-exp-missing');
  if (exp <= now - skew)
    throw assertionRefused(
      'The client assertion has expired; make a new one for each request.',
      'client-assertion-expired',
    );
  return exp;
}

/** RFC 7523 §3 items 5-6: not before its nbf, and not issued in the future (within CLOCK_SKEW_SECONDS). */
export function requireValidNow(assertion: ClientAssertion, now: number, skew = CLOCK_SKEW_SECONDS): void {
  const { nbf, iat } = assertion.claims;
  if (nbf !== undefined && (!numeric(nbf) || nbf > now + skew))
    throw assertionRefused('The client assertion is not valid yet (nbf); check the clock.', 'client-assertion-nbf');
  if (iat !== undefined && (!numeric(iat) || iat > now + skew))
    throw assertionRefused(
      'The client assertion was issued in the future (iat); check the clock.',
      'client-assertion-iat',
    );
}

/**
 * A short lifetime (RFC 7523 §3 item 6 lets the server refuse old assertions; RFC 9700 §2.5): exp - iat, or
 * exp - now without iat (allowing for skew), at most `maxSeconds` (CLIENT_ASSERTION_MAX_LIFETIME). It also bounds
 * how long the jti is remembered.
 */
export function requireShortLifetime(
  assertion: ClientAssertion,
  now: number,
  maxSeconds: number,
  skew = CLOCK_SKEW_SECONDS,
): void {
  const { exp, iat } = assertion.claims as { exp: number; iat?: number };
  const lifetime = numeric(iat) ? exp - iat : exp - now - skew;
  if (lifetime > maxSeconds)
    throw assertionRefused(
      `The client assertion may be valid for at most ${maxSeconds} seconds (exp - iat).`,
      'client-assertion-lifetime',
    );
}

/**
 * RFC 7523 §3 item 7 (required here, as OpenID Connect Core §9 does): a jti, so that each assertion is used once.
 */
export function requireJti(assertion: ClientAssertion): string {
  const { jti } = assertion.claims;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH)
    throw assertionRefused(
      `The client assertion needs a jti of 1-${MAX_JTI_LENGTH} characters.`,
      'client-assertion-jti-missing',
    );
  return jti;
}

export interface ClaimsPolicy {
  issuer: string;
  /** Accept the endpoint's URL as aud too (RFC 7523 §3); undefined: only the issuer. */
  endpointUrl?: string;
  /** FAPI 2.0: aud must be the issuer as a string (requireIssuerStringAudience); endpointUrl is then ignored. */
  issuerStringAudience?: boolean;
  /** The allow-list (CLIENT_ASSERTION_ALGORITHMS when absent). */
  algorithms?: readonly string[];
  maxLifetimeSeconds: number;
  /** Seconds since the epoch. */
  now: number;
}

/** Every check of the assertion that needs no client, in order. */
export function checkAssertionClaims(assertion: ClientAssertion, policy: ClaimsPolicy): AssertionUse {
  requireAllowedAlgorithm(assertion, policy.algorithms);
  if (policy.issuerStringAudience) requireIssuerStringAudience(assertion, policy.issuer);
  else requireAudience(assertion, policy.issuer, policy.endpointUrl);
  const exp = requireUnexpired(assertion, policy.now);
  requireValidNow(assertion, policy.now);
  requireShortLifetime(assertion, policy.now, policy.maxLifetimeSeconds);
  return { jti: requireJti(assertion), exp };
}

/** Every failure to prove the client with an assertion looks like every other (and like a wrong secret). */
export function assertionNotProved(reason: string): OAuthError {
  return assertionRefused('Client authentication failed.', reason);
}

export interface ClientAssertionSettings {
  issuer: string;
  /** CLIENT_ASSERTION_MAX_LIFETIME. */
  maxLifetimeSeconds: number;
  /**
   * Whether an assertion may name the endpoint it is presented at as aud (RFC 7523 §3 allows it; default true). A
   * FAPI 2.0 profile turns it off: only the issuer identifier.
   */
  endpointAudience?: boolean;
  /** FAPI 2.0: aud only the issuer, as a string (requireIssuerStringAudience). */
  issuerStringAudience?: boolean;
  /** The algorithms an assertion may be signed with; CLIENT_ASSERTION_ALGORITHMS when absent. */
  algorithms?: readonly string[];
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

/**
 * Checks client assertions for authenticateClient: the claims, the signature with the client's keys (ClientKeySource)
 * and single use of the jti (a capped key space of the key-value store, MAX_CLIENT_ASSERTIONS). Framework-free.
 */
export class ClientAssertionVerifier {
  // Imported keys per key set object (a cached client record's jwks, a fetched set), dropped with it.
  private readonly keySets = new WeakMap<JSONWebKeySet, JWTVerifyGetKey>();

  constructor(
    private readonly keys: ClientKeySource,
    private readonly replay: ReplayGuard,
    private readonly settings: ClientAssertionSettings,
  ) {}

  /** Seconds since the epoch. */
  now(): number {
    return Math.floor((this.settings.now ?? Date.now)() / 1000);
  }

  /** checkAssertionClaims with this server's settings; `endpointUrl`: where the assertion is presented. */
  checkClaims(assertion: ClientAssertion, endpointUrl: string | undefined): AssertionUse {
    return checkAssertionClaims(assertion, {
      issuer: this.settings.issuer,
      endpointUrl: (this.settings.endpointAudience ?? true) ? endpointUrl : undefined,
      issuerStringAudience: this.settings.issuerStringAudience ?? false,
      algorithms: this.settings.algorithms ?? CLIENT_ASSERTION_ALGORITHMS,
      maxLifetimeSeconds: this.settings.maxLifetimeSeconds,
      now: this.now(),
    });
  }

  /**
   * RFC 7523 §3 item 9: the signature verifies with one of the client's keys (the one its kid names, when it names
   * one). Refusals are assertionNotProved; a jwks_uri that cannot be used throws JwksUriError, too many fetches at
   * once BusyError.
   */
  async verifySignature(assertion: ClientAssertion, client: ClientRecord): Promise<void> {
    const keys = this.keys.keysFor(client);
    if (!keys) throw assertionNotProved('client-assertion-no-keys');
    const outcome = await this.tryKeys(assertion, await keys);
    if (outcome === 'verified') return;
    if (outcome === 'no-key' && client.jwksUri) {
      // The client may have rotated its keys since the set was cached: fetch it again (at most once per cooldown).
      const again = await this.tryKeys(assertion, await this.keys.keysFor(client, true)!);
      if (again === 'verified') return;
    }
    throw assertionNotProved(outcome === 'no-key' ? 'client-assertion-unknown-key' : 'client-assertion-signature');
  }

  private async tryKeys(assertion: ClientAssertion, jwks: JSONWebKeySet): Promise<'verified' | 'no-key' | 'bad'> {
    let keySet = this.keySets.get(jwks);
    if (!keySet) this.keySets.set(jwks, (keySet = createLocalJWKSet(jwks)));
    // The claims were checked already (checkClaims); jose checks exp and nbf again with the same clock.
    const options = {
      algorithms: [...(this.settings.algorithms ?? CLIENT_ASSERTION_ALGORITHMS)],
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(this.now() * 1000),
    };
    try {
      await jwtVerify(assertion.jwt, keySet, options);
      return 'verified';
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) return 'no-key';
      // Several keys fit (no kid, or a kid shared by keys of different types): try each, as jose's docs show.
      if (err instanceof errors.JWKSMultipleMatchingKeys) {
        for await (const key of err as unknown as AsyncIterable<CryptoKey>) {
          try {
            await jwtVerify(assertion.jwt, key, options);
            return 'verified';
          } catch {
            // the next key
          }
        }
      }
      return 'bad';
    }
  }

  /**
   * RFC 7523 §3 item 7: the jti is used once until the assertion expires (plus the skew). Keyed by the client and
   * its jti, hashed to a fixed length; a full guard answers 503 + Retry-After (StoreFullError).
   */
  async requireFirstUse(clientId: string, use: AssertionUse): Promise<void> {
    const key = createHash('sha256').update(`${clientId} ${use.jti}`).digest('base64url');
    const ttl = Math.max(1, use.exp - this.now() + CLOCK_SKEW_SECONDS);
    if (!(await this.replay.firstUse(key, ttl)))
      throw assertionRefused(
        'This client assertion was already used; make a new one (with a new jti) for each request.',
        'client-assertion-replayed',
      );
  }
}
