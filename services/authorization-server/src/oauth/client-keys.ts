// The public keys a private_key_jwt client authenticates with (RFC 7523 §2.2): its registered jwks, or the JWK Set
// document at its jwks_uri (RFC 7591 §2), fetched through the SSRF guard of client metadata documents
// (lib/metadata-document-fetch.ts: https only, addresses checked at connect time, no redirects, a size cap, a
// timeout) and kept in a bounded per-instance cache (lib/fetched-document-cache.ts) for as long as its
// Cache-Control allows, within CACHE_BOUNDS.
// An assertion naming a kid the cached set lacks (the client rotated its keys) may fetch the set again, at most once
// per REFETCH_COOLDOWN_SECONDS, so a stream of made-up kids cannot make this server fetch on every request.
// Framework-free; a jwks_uri that cannot be used is a JwksUriError naming the problem.
import type { JSONWebKeySet } from 'jose';
import type { ClientRecord } from '../domain/records.js';
import { MAX_FETCHED_JWKS_BYTES, checkJwks } from '../lib/client-jwks.js';
import { FetchedDocumentCache } from '../lib/fetched-document-cache.js';
import { fetchMetadataDocument, type CacheBounds, type FetchedDocument } from '../lib/metadata-document-fetch.js';

/**
 * Seconds a fetched JWK Set is reused: at least a minute, at most an hour (a withdrawn key stops working within
 * it), 5 minutes when the response says nothing.
 */
export const CACHE_BOUNDS: CacheBounds = { floor: 60, ceiling: 3600, fallback: 300 };
/** Seconds a jwks_uri that could not be fetched or used is not fetched again. */
export const FAILURE_SECONDS = 10;
/** Seconds after a fetch before an unknown kid may fetch the same set again. */
export const REFETCH_COOLDOWN_SECONDS = 30;
/** JWK Sets (and failures) remembered per instance; the oldest go first. */
export const MAX_CACHED = 1000;
/** Fetches at once per instance; beyond, 503 + Retry-After (each may hold a connection for 5 s). */
export const MAX_IN_FLIGHT = 16;

/** The client's jwks_uri cannot be used now; `problem` says why, for the client's developer. */
export class JwksUriError extends Error {
  constructor(readonly problem: string) {
    super(problem);
    this.name = 'JwksUriError';
  }
}

/** Whether the client registered keys at all (inline or by URL). */
export function hasRegisteredKeys(client: Pick<ClientRecord, 'jwks' | 'jwksUri'>): boolean {
  return (client.jwks ?? null) !== null || (client.jwksUri ?? null) !== null;
}

export interface ClientKeySourceOptions {
  /** A development (http) issuer: http jwks_uris on loopback hosts are fetched too. */
  allowLoopbackHttp: boolean;
  /** Replaces the guarded fetch (tests). */
  fetch?: (url: string) => Promise<FetchedDocument>;
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

export class ClientKeySource {
  private readonly sets: FetchedDocumentCache<JSONWebKeySet>;

  constructor(options: ClientKeySourceOptions) {
    this.sets = new FetchedDocumentCache({
      fetch:
        options.fetch ??
        ((url) =>
          fetchMetadataDocument(url, {
            allowLoopbackHttp: options.allowLoopbackHttp,
            maxBytes: MAX_FETCHED_JWKS_BYTES,
          })),
      read: (_url, fetched) => {
        const checked = checkJwks(fetched.body, 'fetched');
        if (checked.problem !== undefined) throw new JwksUriError(checked.problem);
        return checked.jwks;
      },
      verdict: (_url, problem) => new JwksUriError(problem),
      isVerdict: (err) => err instanceof JwksUriError,
      bounds: CACHE_BOUNDS,
      failureSeconds: FAILURE_SECONDS,
      maxCached: MAX_CACHED,
      maxInFlight: MAX_IN_FLIGHT,
      busyMessage: 'Too many client key sets are being fetched.',
      now: options.now ?? Date.now,
    });
  }

  /**
   * The client's keys, or null when it registered none. `refetch`: the caller found no key for the assertion's
   * kid in what this returned before; the set at the jwks_uri is fetched again unless it was fetched within
   * REFETCH_COOLDOWN_SECONDS (a refetch that fails keeps the set it was to replace while that is fresh). Throws
   * JwksUriError (the set cannot be used) or BusyError (too many fetches at once).
   */
  keysFor(client: Pick<ClientRecord, 'jwks' | 'jwksUri'>, refetch = false): Promise<JSONWebKeySet> | null {
    if (client.jwks) return Promise.resolve(client.jwks);
    if (!client.jwksUri) return null;
    return refetch ? this.sets.refetch(client.jwksUri, REFETCH_COOLDOWN_SECONDS) : this.sets.get(client.jwksUri);
  }
}
