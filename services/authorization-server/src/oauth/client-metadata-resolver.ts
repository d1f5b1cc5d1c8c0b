// Finds the client a metadata document URL names (draft-ietf-oauth-client-id-metadata-document): the URL is
// checked, the document fetched through the SSRF guard (src/lib/metadata-document-fetch.ts) and checked
// (client-metadata-document.ts), its row saved (consents and grants refer to it), and the result kept in a
// bounded per-instance cache (src/lib/fetched-document-cache.ts) for as long as the document's Cache-Control
// allows, within CACHE_BOUNDS. A failed fetch or check is kept briefly too, so a client id cannot make this server
// fetch on every request.
import type { ClientRecord } from '../domain/records.js';
import { FetchedDocumentCache } from '../lib/fetched-document-cache.js';
import { fetchMetadataDocument, type CacheBounds, type FetchedDocument } from '../lib/metadata-document-fetch.js';
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

export class ClientMetadataResolver {
  private readonly documents: FetchedDocumentCache<ClientRecord>;

  constructor(
    private readonly rows: DocumentClientRows,
    private readonly options: ResolverOptions,
  ) {
    this.documents = new FetchedDocumentCache({
      fetch: options.fetch ?? ((url) => fetchMetadataDocument(url, { allowLoopbackHttp: options.allowLoopbackHttp })),
      urlProblem: (clientId) => clientIdUrlProblem(clientId, options.allowLoopbackHttp),
      read: (clientId, fetched) => this.clientFrom(clientId, fetched),
      verdict: (clientId, problem) => new ClientMetadataDocumentError(clientId, problem),
      isVerdict: (err) => err instanceof ClientMetadataDocumentError,
      bounds: CACHE_BOUNDS,
      failureSeconds: FAILURE_SECONDS,
      maxCached: MAX_CACHED,
      maxInFlight: MAX_IN_FLIGHT,
      busyMessage: 'Too many client metadata documents are being fetched.',
      now: options.now ?? Date.now,
    });
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
    return this.documents.get(clientId);
  }

  /** The document's client, its row saved. */
  private async clientFrom(clientId: string, fetched: FetchedDocument): Promise<ClientRecord> {
    const client = clientFromMetadataDocument(clientId, fetched.body);
    if (!(await this.rows.save(client.record, client.metadata)))
      throw new ClientMetadataDocumentError(clientId, 'this client_id belongs to a client registered otherwise');
    return client.record;
  }
}
