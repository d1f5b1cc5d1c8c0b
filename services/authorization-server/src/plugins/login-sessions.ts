// The login session (cookie quartet_as_session, data in Redis): the user is not asked to log in again
// within LOGIN_SESSION_TTL, or until they sign out (POST /interaction/logout). A new session id is issued
// at every login (no session fixation); at most MAX_LOGIN_SESSIONS are kept at once.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { SessionManager, isProduction } from '@quartet/common';

export const SESSION_COOKIE = 'quartet_as_session';

export interface LoginSession {
  userId: string;
  username: string;
  /** Unix seconds of the login. */
  authTime: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    loginSessions: SessionManager<LoginSession>;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    app.decorate(
      'loginSessions',
      new SessionManager<LoginSession>({
        cookieName: SESSION_COOKIE,
        ttlSeconds: app.config.LOGIN_SESSION_TTL,
        secure: isProduction(app.config.ISSUER),
        store: app.kv,
        namespace: 'login',
        maxSessions: app.config.MAX_LOGIN_SESSIONS,
      }),
    );
  },
  { name: 'login-sessions', dependencies: ['config', 'kv-store', '@fastify/cookie'] },
);
