// Server-side sessions: the browser holds only a random id in an HttpOnly cookie; the data stays in
// the key-value store. The store key is a hash of the id, so a dump of the store yields no usable cookie.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/cookie';
import type { KeySpace, KeyValueStore } from './kv-store.js';

export interface SessionOptions {
  cookieName: string;
  ttlSeconds: number;
  /** Secure cookies when the service is reached over https. */
  secure: boolean;
  store: KeyValueStore;
  /** Key namespace inside the store. */
  namespace?: string;
  /**
   * The most sessions kept at once: a new one beyond it is refused with StoreFullError (503) rather than
   * letting anyone who can reach the login form grow the store without bound.
   */
  maxSessions: number;
}

export interface Session<T> {
  id: string;
  data: T;
}

export class SessionManager<T extends object> {
  private readonly space: KeySpace;

  constructor(private readonly options: SessionOptions) {
    this.space = { name: options.namespace ?? 'session', maxEntries: options.maxSessions };
  }

  private key(id: string): string {
    return `${this.space.name}:${createHash('sha256').update(id).digest('base64url')}`;
  }

  /** The session named by the request's cookie, or null when there is none or it has expired. */
  async load(request: FastifyRequest): Promise<Session<T> | null> {
    const id = request.cookies[this.options.cookieName];
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return null;
    const raw = await this.options.store.get(this.key(id));
    if (!raw) return null;
    return { id, data: JSON.parse(raw) as T };
  }

  /** Starts a new session (a fresh id: never reuse an id across a privilege change) and sets its cookie. */
  async create(reply: FastifyReply, data: T): Promise<Session<T>> {
    const id = randomBytes(32).toString('base64url');
    await this.options.store.setIn(this.space, this.key(id), JSON.stringify(data), this.options.ttlSeconds);
    reply.setCookie(this.options.cookieName, id, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: this.options.secure,
      maxAge: this.options.ttlSeconds,
    });
    return { id, data };
  }

  async save(session: Session<T>): Promise<void> {
    await this.options.store.setIn(
      this.space,
      this.key(session.id),
      JSON.stringify(session.data),
      this.options.ttlSeconds,
    );
  }

  async destroy(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const id = request.cookies[this.options.cookieName];
    if (id) await this.options.store.deleteFrom(this.space, this.key(id));
    reply.clearCookie(this.options.cookieName, { path: '/' });
  }
}
