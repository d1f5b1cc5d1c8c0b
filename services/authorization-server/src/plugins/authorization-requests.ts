// A validated authorization request waits server-side (Redis, AUTHORIZATION_REQUEST_TTL) while the user logs
// in and consents; the browser only carries its random id. Completing it uses take(), so one request
// yields at most one response. Anyone can make the server keep one (GET /authorize needs no login), so the
// key space is capped at MAX_PENDING_AUTHORIZATIONS: beyond it /authorize answers temporarily_unavailable
// instead of letting memory grow (and each request's parameters are size-capped by the checks).
import { randomBytes } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { KeySpace, KeyValueStore, TraceStep } from '@quartet/common';

export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  redirectUriProvided: boolean;
  scopes: string[];
  state?: string;
  codeChallenge: string;
  /** RFC 8707: the resource the tokens will be for (the default audience when the client named none). */
  resource: string;
  /** The client has no secret (RFC 6749 §2.1): it is never approved without asking (§10.2). */
  publicClient: boolean;
}

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

  /**
   * Workshop mode: the browser-leg steps of a pending request, under their own key so that adding one never
   * rewrites (and so could never revive) the request itself. Trace data only: a lost update costs a step.
   */
  async addSteps(id: string, steps: TraceStep[]): Promise<void> {
    if (!REQUEST_ID_PATTERN.test(id)) return;
    const raw = await this.kv.get(`authreq-steps:${id}`);
    const all = [...(raw ? (JSON.parse(raw) as TraceStep[]) : []), ...steps];
    await this.kv.set(`authreq-steps:${id}`, JSON.stringify(all), this.ttlSeconds);
  }

  async takeSteps(id: string): Promise<TraceStep[]> {
    if (!REQUEST_ID_PATTERN.test(id)) return [];
    const raw = await this.kv.take(`authreq-steps:${id}`);
    return raw ? (JSON.parse(raw) as TraceStep[]) : [];
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    authorizationRequests: AuthorizationRequestStore;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    const { AUTHORIZATION_REQUEST_TTL, MAX_PENDING_AUTHORIZATIONS } = app.config;
    app.decorate(
      'authorizationRequests',
      new AuthorizationRequestStore(app.kv, AUTHORIZATION_REQUEST_TTL, MAX_PENDING_AUTHORIZATIONS),
    );
  },
  { name: 'authorization-requests', dependencies: ['config', 'kv-store'] },
);
