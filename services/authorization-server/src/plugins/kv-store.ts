// Short-lived state (authorization codes, pending authorization requests, login sessions): Redis, or an
// in-process store when REDIS_URL is memory:// (a single instance with nothing installed).
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { InMemoryKeyValueStore, RedisKeyValueStore, type KeyValueStore } from '@quartet/common';

declare module 'fastify' {
  interface FastifyInstance {
    kv: KeyValueStore;
  }
}

export default fp(
  async (app: FastifyInstance, opts: { store?: KeyValueStore }) => {
    const { REDIS_URL, REDIS_PREFIX } = app.config;
    const store =
      opts.store ?? (REDIS_URL.startsWith('memory:') ? new InMemoryKeyValueStore() : new RedisKeyValueStore(REDIS_URL, REDIS_PREFIX));
    app.decorate('kv', store);
    app.addHook('onClose', () => store.close());
  },
  { name: 'kv-store', dependencies: ['config'] },
);
