// Wires the authorization-code store (stores/codes.ts) onto the app: codes in the key-value store for
// AUTHORIZATION_CODE_TTL.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { KeyValueCodeStore, type CodeStore } from '../stores/codes.js';

declare module 'fastify' {
  interface FastifyInstance {
    codes: CodeStore;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    app.decorate('codes', new KeyValueCodeStore(app.kv, app.config.AUTHORIZATION_CODE_TTL));
  },
  { name: 'code-store', dependencies: ['config', 'kv-store'] },
);
