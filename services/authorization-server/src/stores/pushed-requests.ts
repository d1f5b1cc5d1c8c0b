// Pushed authorization requests (RFC 9126 §2.2): a request validated at the PAR endpoint waits here, under the
// hash of its request_uri (256 random bits), for PAR_REQUEST_TTL seconds at most, until /authorize takes it —
// once: take() removes it in the same atomic step that reads it, so of two uses (a replay, a double click) at
// most one finds it (§4 lets a server allow a reload; single use is the stricter reading, and what FAPI 2.0
// asks). The store says what it found; /authorize checks that the client using it is the one that pushed it.
// Any client, a public one too, can push, so the key space is capped (MAX_PUSHED_AUTHORIZATIONS): when it is full
// a push gets StoreFullError (503 + Retry-After) instead of memory growing.
import { randomBytes } from 'node:crypto';
import type { KeySpace, KeyValueStore } from '@quartet/common';
import type { AuthorizationRequest } from '../domain/records.js';
import { hashToken } from '../lib/token-hash.js';

/** RFC 9126 §2.2: the URN namespace of request_uri values (RFC 9126 §7.1 registers it). */
export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';
/** The request_uri values this server issues: the prefix and 43 base64url characters (256 random bits). */
export const REQUEST_URI_PATTERN = /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/;

export class PushedRequestStore {
  private readonly space: KeySpace;

  constructor(
    private readonly kv: KeyValueStore,
    private readonly ttlSeconds: number,
    maxPending: number,
  ) {
    this.space = { name: 'par', maxEntries: maxPending };
  }

  /** Stores the request under a new request_uri, returned; StoreFullError when the space is full. */
  async push(request: AuthorizationRequest): Promise<string> {
    const requestUri = REQUEST_URI_PREFIX + randomBytes(32).toString('base64url');
    await this.kv.setIn(this.space, this.key(requestUri), JSON.stringify(request), this.ttlSeconds);
    return requestUri;
  }

  /** The pushed request, removed as it is read; null when unknown, expired, already taken or not ours in form. */
  async take(requestUri: string): Promise<AuthorizationRequest | null> {
    if (!REQUEST_URI_PATTERN.test(requestUri)) return null;
    const raw = await this.kv.takeFrom(this.space, this.key(requestUri));
    return raw ? (JSON.parse(raw) as AuthorizationRequest) : null;
  }

  private key(requestUri: string): string {
    return `par:${hashToken(requestUri)}`;
  }
}
