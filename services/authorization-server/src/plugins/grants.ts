// Wires the grant and refresh-token stores (stores/grants.ts, stores/refresh-tokens.ts) onto the app, with
// the refresh-token lifetimes REFRESH_TOKEN_TTL and REFRESH_TOKEN_IDLE_TTL.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { GrantStore } from '../stores/grants.js';
import { RefreshTokenStore } from '../stores/refresh-tokens.js';

declare module 'fastify' {
  interface FastifyInstance {
    grants: GrantStore;
    refreshTokens: RefreshTokenStore;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    const lifetimes = { absolute: app.config.REFRESH_TOKEN_TTL, idle: app.config.REFRESH_TOKEN_IDLE_TTL };
    app.decorate('grants', new GrantStore(app.prisma, lifetimes));
    app.decorate('refreshTokens', new RefreshTokenStore(app.prisma, lifetimes));
  },
  { name: 'grants', dependencies: ['config', 'prisma'] },
);
