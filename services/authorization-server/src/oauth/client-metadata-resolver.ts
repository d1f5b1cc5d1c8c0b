// Finds the client a metadata document URL names (draft-ietf-oauth-client-id-metadata-document): the URL is
// checked, the document fetched through the SSRF guard (src/lib/metadata-document-fetch.ts) and checked
// (client-metadata-document.ts), its row saved (consents and grants refer to it), and the result kept in a
// bounded per-instance cache for as long as the document's Cache-Control allows, within CACHE_BOUNDS. A failed
// fetch or check is kept briefly too, so a client id cannot make this server fetch on every request.
import { BusyError } from '@quartet/common';
import type { ClientRecord } from '../domain/records.js';
import {
  cacheLifetimeSeconds,
  fetchMetadataDocument,
  MetadataDocumentFetchError,
  type CacheBounds,
  type FetchedDocument,
} from '../lib/metadata-document-fetch.js';
import {
  ClientMetadataDocumentError,
  clientFromMetadataDocument,
  clientIdUrlProblem,
  isMetadataDocumentUrl,
} from './client-metadata-document.js';

/**
 * Seconds a fetched document is reused: at least 15 (one sign-in reads the client at every step), at most an
 * hour (a changed or withdrawn document takes effect within it), 5 minutes when the response says nothing.
 */
export const CACHE_BOUNDS: CacheBounds = { floor: 15, ceiling: 3600, fallback: 300 };
/** Seconds a document that could not be fetched or used is not fetched again. */
export const FAILURE_SECONDS = 10;
/** Documents (and failures) remembered per instance; the oldest go first. */
export const MAX_CACHED = 1000;
/** Fetches at once per instance; beyond, 503 + Retry-After (each may hold a connection for 5 s). */
export const MAX_IN_FLIGHT = 16;

/** Where a valid document's client is kept (src/stores/metadata-document-clients.ts). */
export interface DocumentClientRows {
  save(record: ClientRecord, metadata: Record<string, unknown>): Promise<boolean>;
}

export interface ResolverOptions {
  /** A development (http) issuer: http client ids on loopback hosts are accepted. */
  allowLoopbackHttp: boolean;
  /** Replaces the guarded fetch (tests). */
  fetch?: (url: string) => Promise<FetchedDocument>;
  now?: () => number;
}

interface Entry {
  result: Promise<ClientRecord>;
  until: number;
}

export class ClientMetadataResolver {
  private readonly cache = new Map<string, Entry>();
  private inFlight = 0;
  private readonly fetch: (url: string) => Promise<FetchedDocument>;
  private readonly now: () => number;

  constructor(
    private readonly rows: DocumentClientRows,
    private readonly options: ResolverOptions,
  ) {
    this.fetch =
      options.fetch ?? ((url) => fetchMetadataDocument(url, { allowLoopbackHttp: options.allowLoopbackHttp }));
    this.now = options.now ?? Date.now;
  }

  /** Whether `clientId` is a metadata document URL (to resolve here) rather than a registered id. */
  handles(clientId: string): boolean {
    return isMetadataDocumentUrl(clientId, this.options.allowLoopbackHttp);
  }

  /**
   * The client the document at `clientId` describes. Throws ClientMetadataDocumentError (the document cannot
   * be used), BusyError (too many fetches at once, or no room for a new client's row) or StorageUnavailableError
   * (its row could not be saved).
   */
  resolve(clientId: string): Promise<ClientRecord> {
    const cached = this.cache.get(clientId);
    if (cached && cached.until > this.now()) return cached.result;
    // Concurrent look-ups of one URL share one fetch: the entry is there (until: Infinity) while it runs.
    const entry = { until: Infinity } as Entry;
    entry.result = this.load(clientId, (seconds) => (entry.until = this.now() + seconds * 1000));
    this.cache.delete(clientId);
    this.cache.set(clientId, entry);
    if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    // Only a document's verdict is kept: a busy instance or a storage outage says nothing about the document.
    entry.result.catch((err: unknown) => {
      if (!(err instanceof ClientMetadataDocumentError) && this.cache.get(clientId) === entry)
        this.cache.delete(clientId);
    });
    return entry.result;
  }

  private async load(clientId: string, keepFor: (seconds: number) => void): Promise<ClientRecord> {
    const urlProblem = clientIdUrlProblem(clientId, this.options.allowLoopbackHttp);
    if (urlProblem) {
      keepFor(FAILURE_SECONDS);
      throw new ClientMetadataDocumentError(clientId, urlProblem);
    }
    if (this.inFlight >= MAX_IN_FLIGHT) throw new BusyError('Too many client metadata documents are being fetched.');
    let fetched: FetchedDocument;
    this.inFlight++;
    try {
      fetched = await this.fetch(clientId);
    } catch (err) {
      keepFor(FAILURE_SECONDS);
      if (err instanceof MetadataDocumentFetchError) throw new ClientMetadataDocumentError(clientId, err.problem);
      throw new ClientMetadataDocumentError(clientId, 'the document could not be fetched');
    } finally {
      this.inFlight--;
    }
    let client;
    try {
      client = clientFromMetadataDocument(clientId, fetched.body);
    } catch (err) {
      keepFor(FAILURE_SECONDS);
      throw err;
    }
    if (!(await this.rows.save(client.record, client.metadata))) {
      keepFor(FAILURE_SECONDS);
      throw new ClientMetadataDocumentError(clientId, 'this client_id belongs to a client registered otherwise');
    }
    keepFor(cacheLifetimeSeconds(fetched.cacheControl, CACHE_BOUNDS));
    return client.record;
  }
}
