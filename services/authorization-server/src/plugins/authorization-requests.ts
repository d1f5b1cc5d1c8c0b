// Wires the pending authorization requests (stores/authorization-requests.ts) onto the app:
// AUTHORIZATION_REQUEST_TTL each, at most MAX_PENDING_AUTHORIZATIONS at once.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { AuthorizationRequestStore } from '../stores/authorization-requests.js';

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
