// Wires the pushed authorization requests (stores/pushed-requests.ts, RFC 9126) onto the app: PAR_REQUEST_TTL
// each, at most MAX_PUSHED_AUTHORIZATIONS at once.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { PushedRequestStore } from '../stores/pushed-requests.js';

declare module 'fastify' {
  interface FastifyInstance {
    pushedRequests: PushedRequestStore;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    const { PAR_REQUEST_TTL, MAX_PUSHED_AUTHORIZATIONS } = app.config;
    app.decorate('pushedRequests', new PushedRequestStore(app.kv, PAR_REQUEST_TTL, MAX_PUSHED_AUTHORIZATIONS));
  },
  { name: 'pushed-requests', dependencies: ['config', 'kv-store'] },
);
