// A validated authorization request waits server-side (Redis, AUTHORIZATION_REQUEST_TTL) while the user logs
// in and consents; the browser only carries its random id. Completing it uses take(), so one request
// yields at most one response. Anyone can make the server keep one (GET /authorize needs no login), so the
// key space is capped at MAX_PENDING_AUTHORIZATIONS: beyond it /authorize answers temporarily_unavailable
// instead of letting memory grow (and each request's parameters are size-capped by the checks).
import { randomBytes } from 'node:crypto';
import type { KeySpace, KeyValueStore } from '@quartet/common';
import type { AuthorizationRequest } from '../domain/records.js';

export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export class AuthorizationRequestStore {
  private readonly space: KeySpace;

  constructor(
    private readonly kv: KeyValueStore,
    private readonly ttlSeconds: number,
    maxPending: number,
  ) {
    this.space = { name: 'authreq', maxEntries: maxPending };
  }

  /** Stores the request under a new random id; StoreFullError when MAX_PENDING_AUTHORIZATIONS are waiting. */
  async save(request: AuthorizationRequest): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.kv.setIn(this.space, `authreq:${id}`, JSON.stringify(request), this.ttlSeconds);
    return id;
  }

  async get(id: string): Promise<AuthorizationRequest | null> {
    if (!REQUEST_ID_PATTERN.test(id)) return null;
    const raw = await this.kv.get(`authreq:${id}`);
    return raw ? (JSON.parse(raw) as AuthorizationRequest) : null;
  }

  async consume(id: string): Promise<AuthorizationRequest | null> {
    if (!REQUEST_ID_PATTERN.test(id)) return null;
    const raw = await this.kv.takeFrom(this.space, `authreq:${id}`);
    return raw ? (JSON.parse(raw) as AuthorizationRequest) : null;
  }
}
