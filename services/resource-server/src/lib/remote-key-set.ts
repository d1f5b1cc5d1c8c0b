// The authorization server's signing keys (RFC 7517 JWK Set at the metadata's jwks_uri, RFC 8414 §2), cached
// so that an outage of the authorization server does not stop the API (RFC 5861 §4 stale-if-error, see
// stale-if-error-cache.ts), while key rotation is still picked up at once.
//
// Why not jose's createRemoteJWKSet: once its cacheMaxAge has passed, every verification awaits a reload and
// a failed reload rejects that verification — the keys it holds are not used past cacheMaxAge, so ten
// minutes into an outage every token is answered 503. A failed reload is also forgotten at once (the next
// call fetches again: no back-off, every request waits for the timeout), and its cooldown only counts
// successful fetches. So the set is fetched here and handed to jose's createLocalJWKSet, which does the part
// jose is good at: selecting the key by kid/alg/use/key_ops (RFC 7517 §4) and importing it once.
//
// Rules, in the order a verification meets them:
// - a set past JWKS_CACHE_MAX_AGE is refreshed in the background; a token whose kid is in it is verified
//   with it at once, also during an outage, until JWKS_CACHE_MAX_AGE + JWKS_MAX_STALE;
// - a kid that is not in the set may be a key the authorization server has just rotated in (it publishes
//   before it signs), so the set is fetched again, waiting at most JWKS_FETCH_TIMEOUT — but at most once per
//   JWKS_COOLDOWN while the authorization server is healthy: a forged kid must not turn every request into
//   a fetch. Still unknown after a good fetch: the token is invalid (401). Fetch failed, or an outage's
//   back-off forbids fetching: we cannot tell (503);
// - no usable set at all (never fetched, or past JWKS_MAX_STALE): fetch, or 503 during the back-off.
import {
  createLocalJWKSet,
  errors,
  type CryptoKey,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import { FetchUnavailableError, StaleIfErrorCache, type StaleIfErrorOptions } from './stale-if-error-cache.js';

export type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

type CacheOptions = Pick<
  StaleIfErrorOptions<LocalKeySet>,
  'maxAge' | 'maxStale' | 'retryDelay' | 'maxRetryDelay' | 'now' | 'context' | 'events'
>;

export interface RemoteKeySetOptions extends CacheOptions {
  fetch: typeof fetch;
  /** Milliseconds one JWKS request may take. */
  timeout: number;
  /** Milliseconds that must pass after a fetch before an unknown kid may cause another one. */
  cooldown: number;
}

export class RemoteKeySet {
  private readonly cache: StaleIfErrorCache<LocalKeySet>;

  constructor(
    readonly url: string,
    private readonly options: RemoteKeySetOptions,
  ) {
    this.cache = new StaleIfErrorCache({ ...options, load: (signal) => this.load(signal) });
  }

  /**
   * The key to verify a JWS with `header`. Throws jose's JWKSNoMatchingKey (and the other errors of
   * createLocalJWKSet) when the token names no key we know, FetchUnavailableError when we cannot know.
   * `remainingMs()` is how much longer the request may wait for the authorization server.
   */
  async getKey(header: JWSHeaderParameters, token: FlattenedJWSInput, remainingMs: () => number): Promise<CryptoKey> {
    const keys = this.cache.usable();
    if (keys) {
      try {
        return await keys(header, token);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
        this.checkRefetchForUnknownKid(err);
      }
    } else if (this.cache.backingOff) {
      throw this.unavailable('no usable key set, and the last fetch failed too recently to try again');
    }
    return (await this.fetch(remainingMs()))(header, token);
  }

  /** Throws unless an unknown kid may cause a fetch now (or join the one in flight). */
  private checkRefetchForUnknownKid(unknown: InstanceType<typeof errors.JWKSNoMatchingKey>): void {
    // A fetch in flight (a background refresh, or another request's) may bring the key: wait for it.
    if (this.cache.fetching) return;
    if (this.cache.failing) {
      // During an outage the back-off, not the cooldown, paces the attempts; we cannot tell the kid is bad.
      if (this.cache.backingOff)
        throw this.unavailable('the kid is not in the set held, and the set cannot be fetched right now');
      return;
    }
    if (this.cache.sinceLastAttempt < this.options.cooldown) throw unknown;
  }

  private async fetch(waitMs: number): Promise<LocalKeySet> {
    try {
      return await this.cache.fetch(waitMs);
    } catch (err) {
      throw this.unavailable('the key set could not be fetched', err);
    }
  }

  private unavailable(why: string, cause: unknown = this.cache.error): FetchUnavailableError {
    return new FetchUnavailableError(`JWKS at ${this.url}: ${why}`, { cause });
  }

  private async load(signal: AbortSignal): Promise<LocalKeySet> {
    const response = await this.options.fetch(this.url, {
      headers: { accept: 'application/jwk-set+json, application/json' },
      // As for the metadata: the keys must come from the jwks_uri the issuer's metadata names, not from
      // wherever a redirect points.
      redirect: 'manual',
      signal,
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`JWKS request answered HTTP ${response.status}`);
    }
    // createLocalJWKSet refuses anything that is not a JWK Set (RFC 7517 §5): a broken answer is a failed
    // fetch, and the set held so far stays in use.
    return createLocalJWKSet((await response.json()) as JSONWebKeySet);
  }
}
