// The public keys a private_key_jwt client authenticates with (RFC 7523 §2.2): its registered jwks, or the JWK Set
// document at its jwks_uri (RFC 7591 §2), fetched through the SSRF guard of client metadata documents
// (lib/metadata-document-fetch.ts: https only, addresses checked at connect time, no redirects, a size cap, a
// timeout) and kept in a bounded per-instance cache for as long as its Cache-Control allows, within CACHE_BOUNDS.
// An assertion naming a kid the cached set lacks (the client rotated its keys) may fetch the set again, at most once
// per REFETCH_COOLDOWN_SECONDS, so a stream of made-up kids cannot make this server fetch on every request.
// Framework-free; a jwks_uri that cannot be used is a JwksUriError naming the problem.
import { BusyError } from '@quartet/common';
import type { JSONWebKeySet } from 'jose';
import type { ClientRecord } from '../domain/records.js';
import { MAX_FETCHED_JWKS_BYTES, checkJwks } from '../lib/client-jwks.js';
import {
  cacheLifetimeSeconds,
  fetchMetadataDocument,
  MetadataDocumentFetchError,
  type CacheBounds,
  type FetchedDocument,
} from '../lib/metadata-document-fetch.js';

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

interface Entry {
  keys: Promise<JSONWebKeySet>;
  fetchedAt: number;
  until: number;
}

export class ClientKeySource {
  private readonly cache = new Map<string, Entry>();
  private inFlight = 0;
  private readonly fetch: (url: string) => Promise<FetchedDocument>;
  private readonly now: () => number;

  constructor(private readonly options: ClientKeySourceOptions) {
    this.fetch =
      options.fetch ??
      ((url) =>
        fetchMetadataDocument(url, { allowLoopbackHttp: options.allowLoopbackHttp, maxBytes: MAX_FETCHED_JWKS_BYTES }));
    this.now = options.now ?? Date.now;
  }

  /**
   * The client's keys, or null when it registered none. `refetch`: the caller found no key for the assertion's
   * kid in what this returned before; the set at the jwks_uri is fetched again unless it was fetched within
   * REFETCH_COOLDOWN_SECONDS. Throws JwksUriError (the set cannot be used) or BusyError (too many fetches at once).
   */
  keysFor(client: Pick<ClientRecord, 'jwks' | 'jwksUri'>, refetch = false): Promise<JSONWebKeySet> | null {
    if (client.jwks) return Promise.resolve(client.jwks);
    if (!client.jwksUri) return null;
    const url = client.jwksUri;
    const cached = this.cache.get(url);
    const now = this.now();
    const stale = refetch && cached !== undefined && now - cached.fetchedAt >= REFETCH_COOLDOWN_SECONDS * 1000;
    if (cached && cached.until > now && !stale) return cached.keys;
    // Concurrent look-ups of one URL share one fetch: the entry is there (until: Infinity) while it runs.
    const entry = { fetchedAt: now, until: Infinity } as Entry;
    entry.keys = this.load(url, (seconds) => (entry.until = this.now() + seconds * 1000));
    // A refetch that fails keeps the set it was to replace (still fresh): a kid nobody published cannot take
    // the client's good keys away.
    const previous = stale && cached.until > now ? cached : undefined;
    if (previous)
      entry.keys = entry.keys.catch(async (err: unknown) => {
        const keys = err instanceof JwksUriError ? await previous.keys.catch(() => null) : null;
        if (!keys) throw err;
        if (this.cache.get(url) === entry) this.cache.set(url, previous);
        return keys;
      });
    this.cache.delete(url);
    this.cache.set(url, entry);
    if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    // Only a verdict on the set is kept: a busy instance says nothing about the document.
    entry.keys.catch((err: unknown) => {
      if (!(err instanceof JwksUriError) && this.cache.get(url) === entry) this.cache.delete(url);
    });
    return entry.keys;
  }

  private async load(url: string, keepFor: (seconds: number) => void): Promise<JSONWebKeySet> {
    if (this.inFlight >= MAX_IN_FLIGHT) throw new BusyError('Too many client key sets are being fetched.');
    let fetched: FetchedDocument;
    this.inFlight++;
    try {
      fetched = await this.fetch(url);
    } catch (err) {
      keepFor(FAILURE_SECONDS);
      throw new JwksUriError(
        err instanceof MetadataDocumentFetchError ? err.problem : 'the document could not be fetched',
      );
    } finally {
      this.inFlight--;
    }
    const checked = checkJwks(fetched.body, 'fetched');
    if (checked.problem !== undefined) {
      keepFor(FAILURE_SECONDS);
      throw new JwksUriError(checked.problem);
    }
    keepFor(cacheLifetimeSeconds(fetched.cacheControl, CACHE_BOUNDS));
    return checked.jwks;
  }
}
