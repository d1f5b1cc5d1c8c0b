// Server-side browser sessions and pending authorization requests, both in the key-value store: Redis when
// REDIS_URL is set, else the in-process store (same interface and semantics: TTL expiry, atomic take).
//
// The browser only ever holds a random session id (cookie `quartet_client_session`, HttpOnly, SameSite=Lax,
// Secure over https); tokens stay here, on the server (RFC 9700 §2.1, "tokens never reach the browser").
// A pending authorization request (state + PKCE code_verifier, RFC 6749 §10.12, RFC 7636 §4.1) is stored
// under a key derived from BOTH the session id and the state, and is taken with an atomic GETDEL: a state
// only works in the browser that started the flow, and only once, even with two concurrent callbacks.
//
// `exclusive(sessionId, fn)` runs token work of one session one at a time (refresh, logout): the refresh
// token rotates (RFC 9700 §4.14.2), so two page loads that both spent the same refresh token would look like
// token replay to the AS, and one of them would lose the connection. The queue is IN-PROCESS: it serialises
// refreshes within one instance only. Several instances sharing Redis could still race on one session
// (rare: the same browser hitting two instances within the same second); the store interface has no
// set-if-absent to build a cross-instance lock on, so that is a documented limitation (see README).
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  SINGLE_INSTANCE_NOTICE,
  SessionManager,
  createKeyValueStore,
  isProduction,
  type KeyValueStore,
  type Session,
} from '@quartet/common';
import type { StoredDpopKey } from '../oauth/dpop.js';

export const SESSION_COOKIE = 'quartet_client_session';
/** How long a user may take at the authorization server (login + consent) before the flow expires. */
export const PENDING_AUTHORIZATION_TTL = 600;

export interface StoredTokens {
  accessToken: string;
  tokenType: string;
  /** Granted scope (RFC 6749 §5.1: may be narrower than requested). */
  scope: string;
  /** Epoch seconds, or null when the token response carried no expires_in. */
  expiresAt: number | null;
  refreshToken?: string;
  /**
   * USE_DPOP and a DPoP token (RFC 9449 §5): the private JWK of the key the tokens are bound to. Server-side
   * only, like the tokens; every refresh and resource call proves possession of it.
   */
  dpopKey?: StoredDpopKey;
  /** Workshop mode: the W3C trace id of the flow that obtained these tokens (refreshes and API calls join it). */
  traceId?: string;
}

export interface ClientSessionData {
  tokens?: StoredTokens;
}

export type ClientSession = Session<ClientSessionData>;

export interface PendingAuthorization {
  state: string;
  codeVerifier: string;
  createdAt: number;
  /** USE_DPOP: the key the code is bound to (dpop_jkt, RFC 9449 §10), for the token request. */
  dpopKey?: StoredDpopKey;
  /** Workshop mode: the W3C trace id of this flow, so the callback records into the same flow. */
  traceId?: string;
}

export interface PendingAuthorizationStore {
  save(session: ClientSession, pending: PendingAuthorization): Promise<void>;
  /** Returns and deletes the request started in this session with this state; null if unknown, expired or used. */
  take(session: ClientSession, state: string): Promise<PendingAuthorization | null>;
}

export interface SessionHelpers {
  manager: SessionManager<ClientSessionData>;
  load(request: FastifyRequest): Promise<ClientSession | null>;
  /** The current session, or a new (empty) one when there is none. */
  loadOrCreate(request: FastifyRequest, reply: FastifyReply): Promise<ClientSession>;
  /** Replaces the session by one with a fresh id, so an id planted before login is worthless (session fixation). */
  rotate(request: FastifyRequest, reply: FastifyReply, data: ClientSessionData): Promise<ClientSession>;
  save(session: ClientSession): Promise<void>;
  destroy(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** The session if it holds tokens (the user connected), else null. */
  connected(request: FastifyRequest): Promise<ConnectedSession | null>;
  /** Drops the tokens but keeps the session: the user must connect again. */
  forgetTokens(request: FastifyRequest): Promise<void>;
  /**
   * Runs `fn` after every earlier `exclusive` call for the same session id has settled (in this process).
   * `fn` must re-read the session: what the caller loaded before waiting may be stale.
   */
  exclusive<T>(sessionId: string, fn: () => Promise<T>): Promise<T>;
}

export type ConnectedSession = Session<ClientSessionData & { tokens: StoredTokens }>;

declare module 'fastify' {
  interface FastifyInstance {
    kv: KeyValueStore;
    sessions: SessionHelpers;
    pendingAuthorizations: PendingAuthorizationStore;
  }
}

export interface SessionPluginOptions {
  /** A store to use instead of the one REDIS_URL selects; closed by its owner. */
  store?: KeyValueStore;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');

async function sessionPlugin(app: FastifyInstance, options: SessionPluginOptions) {
  const { config } = app;
  const store = options.store ?? createKeyValueStore(config.REDIS_URL, config.REDIS_PREFIX);
  if (!options.store) {
    app.addHook('onClose', async () => store.close());
    // Logged once, at start: sessions then live in this process only (lost on restart, not shared by a
    // second instance behind a load balancer), and the line says how to switch to Redis.
    if (!config.REDIS_URL) app.log.warn(SINGLE_INSTANCE_NOTICE);
  }

  const manager = new SessionManager<ClientSessionData>({
    cookieName: SESSION_COOKIE,
    ttlSeconds: config.SESSION_TTL,
    secure: isProduction(config.PUBLIC_URL),
    store,
    namespace: 'session',
    maxSessions: config.MAX_SESSIONS,
  });

  // Tail of the queue per session id; an entry disappears when its queue drains, so the map stays small.
  const queues = new Map<string, Promise<void>>();

  const sessions: SessionHelpers = {
    manager,
    load: (request) => manager.load(request),
    async loadOrCreate(request, reply) {
      return (await manager.load(request)) ?? manager.create(reply, {});
    },
    async rotate(request, reply, data) {
      await manager.destroy(request, reply);
      return manager.create(reply, { ...data });
    },
    save: (session) => manager.save(session),
    destroy: (request, reply) => manager.destroy(request, reply),
    async connected(request) {
      const session = await manager.load(request);
      return session?.data.tokens ? (session as ConnectedSession) : null;
    },
    async forgetTokens(request) {
      const session = await manager.load(request);
      if (!session?.data.tokens) return;
      delete session.data.tokens;
      await manager.save(session);
    },
    exclusive(sessionId, fn) {
      const previous = queues.get(sessionId) ?? Promise.resolve();
      const run = previous.then(fn);
      const tail = run.then(
        () => undefined,
        () => undefined,
      );
      queues.set(sessionId, tail);
      void tail.then(() => {
        if (queues.get(sessionId) === tail) queues.delete(sessionId);
      });
      return run;
    },
  };

  // Hashing keeps raw session ids and states out of the store's key space. Anyone can start flows, so their
  // number is capped (MAX_PENDING_AUTHORIZATIONS; beyond it /connect answers 503 + Retry-After).
  const pendingKey = (session: ClientSession, state: string) =>
    `pending-authorization:${sha256(`${session.id}\n${state}`)}`;
  const pendingSpace = { name: 'pending-authorization', maxEntries: config.MAX_PENDING_AUTHORIZATIONS };
  const pendingAuthorizations: PendingAuthorizationStore = {
    async save(session, pending) {
      await store.setIn(
        pendingSpace,
        pendingKey(session, pending.state),
        JSON.stringify(pending),
        PENDING_AUTHORIZATION_TTL,
      );
    },
    async take(session, state) {
      const raw = await store.takeFrom(pendingSpace, pendingKey(session, state));
      return raw ? (JSON.parse(raw) as PendingAuthorization) : null;
    },
  };

  app.decorate('kv', store);
  app.decorate('sessions', sessions);
  app.decorate('pendingAuthorizations', pendingAuthorizations);
}

export default fp(sessionPlugin, { name: 'session', dependencies: ['config', '@fastify/cookie'] });
