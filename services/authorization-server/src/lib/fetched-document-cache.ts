// A bounded per-instance cache of JSON documents fetched by URL through the SSRF guard (metadata-document-fetch.ts),
// shared by client ID metadata documents (oauth/client-metadata-resolver.ts) and private_key_jwt clients' JWK Sets
// at their jwks_uri (oauth/client-keys.ts). Anyone can name a URL there, so fetching must not be something a client
// id can make this server do at will (draft-ietf-oauth-client-id-metadata-document, Security Considerations):
// - a document is reused for as long as its Cache-Control allows, within the caller's bounds (cacheLifetimeSeconds:
//   the floor bounds how often one URL is fetched, the ceiling makes a changed or withdrawn document — a withdrawn
//   key — take effect);
// - concurrent look-ups of one URL share one fetch;
// - a verdict on the document (it cannot be fetched or used) is kept briefly too, so a bad URL is not fetched on
//   every request; an error that says nothing about the document (this instance busy, a storage outage) is
//   forgotten at once, so it is not repeated to the next request;
// - at most maxCached documents are kept (the oldest go first) and at most maxInFlight fetches run at once (beyond,
//   BusyError: 503 + Retry-After), so many URLs cannot exhaust memory or connections.
// refetch serves key rotation (RFC 7523 §2.2 with RFC 7517 §4.5 kid): a kid missing from the cached set may fetch
// it again, at most once per cooldown, and a refetch that fails (a verdict, busy, an outage) leaves the good set in
// place.
// Framework-free; the callers say what they read from a document and which errors are verdicts.
import { BusyError } from '@quartet/common';
import {
  cacheLifetimeSeconds,
  MetadataDocumentFetchError,
  type CacheBounds,
  type FetchedDocument,
} from './metadata-document-fetch.js';

export interface FetchedDocumentCacheOptions<T> {
  /** Fetches the document at a URL: fetchMetadataDocument with the caller's policy (or a fake in tests). */
  fetch: (url: string) => Promise<FetchedDocument>;
  /** What is kept of a fetched document; throws a verdict when the document cannot be used. */
  read: (url: string, fetched: FetchedDocument) => T | Promise<T>;
  /** A problem with the URL itself, found before any fetch (then a verdict, kept like one). */
  urlProblem?: (url: string) => string | null;
  /** The verdict on a URL that could not be fetched; `problem` says why, for the client's developer. */
  verdict: (url: string, problem: string) => Error;
  /** Whether an error is a verdict on the document (kept failureSeconds) rather than on this instance (forgotten). */
  isVerdict: (err: unknown) => boolean;
  /** How long a document is reused (see cacheLifetimeSeconds). */
  bounds: CacheBounds;
  /** Seconds a verdict is kept. */
  failureSeconds: number;
  /** Documents (and verdicts) kept; the oldest go first. */
  maxCached: number;
  /** Fetches at once; beyond, BusyError with busyMessage. */
  maxInFlight: number;
  busyMessage: string;
  /** Clock in milliseconds. */
  now: () => number;
}

interface Entry<T> {
  value: Promise<T>;
  /** When its fetch started. */
  fetchedAt: number;
  /** Infinity while its fetch runs. */
  until: number;
}

export class FetchedDocumentCache<T> {
  private readonly cache = new Map<string, Entry<T>>();
  private inFlight = 0;

  constructor(private readonly options: FetchedDocumentCacheOptions<T>) {}

  /** What the document at `url` reads as: kept, or fetched now. Throws a verdict or BusyError (or what read throws). */
  get(url: string): Promise<T> {
    const cached = this.cache.get(url);
    if (cached && cached.until > this.options.now()) return cached.value;
    return this.start(url);
  }

  /**
   * Like get, but fetched again now (the caller found something missing from what it had) unless the kept copy
   * was fetched within `cooldownSeconds`. While that copy is fresh, a verdict on the new fetch leaves it kept and
   * answered (for a JWK Set: a kid nobody published cannot take the client's good keys away).
   */
  refetch(url: string, cooldownSeconds: number): Promise<T> {
    const cached = this.cache.get(url);
    const now = this.options.now();
    const fresh = cached !== undefined && cached.until > now;
    if (fresh && now - cached.fetchedAt < cooldownSeconds * 1000) return cached.value;
    return this.start(url, fresh ? cached : undefined);
  }

  private start(url: string, previous?: Entry<T>): Promise<T> {
    // Concurrent look-ups of one URL share one fetch: the entry is there (until: Infinity) while it runs.
    const entry = { fetchedAt: this.options.now(), until: Infinity } as Entry<T>;
    entry.value = this.load(url, entry);
    if (previous)
      entry.value = entry.value.catch(async (err: unknown) => {
        // An error that says nothing about the document (busy, an outage) goes to this caller, but the fresh copy
        // stays kept: dropping it would make the next look-up fetch again, for nothing.
        if (!this.options.isVerdict(err)) {
          if (this.cache.get(url) === entry) this.cache.set(url, previous);
          throw err;
        }
        let value: T;
        try {
          value = await previous.value;
        } catch {
          throw err;
        }
        if (this.cache.get(url) === entry) this.cache.set(url, previous);
        return value;
      });
    this.cache.delete(url);
    this.cache.set(url, entry);
    if (this.cache.size > this.options.maxCached) this.cache.delete(this.cache.keys().next().value!);
    // Only a verdict on the document is kept: a busy instance or a storage outage says nothing about it.
    entry.value.catch((err: unknown) => {
      if (!this.options.isVerdict(err) && this.cache.get(url) === entry) this.cache.delete(url);
    });
    return entry.value;
  }

  /** Fetches and reads the document, and sets how long `entry` is kept. */
  private async load(url: string, entry: Entry<T>): Promise<T> {
    const keepFor = (seconds: number) => (entry.until = this.options.now() + seconds * 1000);
    try {
      const urlProblem = this.options.urlProblem?.(url);
      if (urlProblem) throw this.options.verdict(url, urlProblem);
      const fetched = await this.fetch(url);
      const value = await this.options.read(url, fetched);
      keepFor(cacheLifetimeSeconds(fetched.cacheControl, this.options.bounds));
      return value;
    } catch (err) {
      if (this.options.isVerdict(err)) keepFor(this.options.failureSeconds);
      throw err;
    }
  }

  /** The fetch within maxInFlight; any failure of the fetch itself is a verdict, named without its details. */
  private async fetch(url: string): Promise<FetchedDocument> {
    if (this.inFlight >= this.options.maxInFlight) throw new BusyError(this.options.busyMessage);
    this.inFlight++;
    try {
      return await this.options.fetch(url);
    } catch (err) {
      const problem = err instanceof MetadataDocumentFetchError ? err.problem : 'the document could not be fetched';
      throw this.options.verdict(url, problem);
    } finally {
      this.inFlight--;
    }
  }
}
