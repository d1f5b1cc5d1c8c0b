// Short-lived state (authorization codes, pending authorization requests, login sessions): Redis when
// REDIS_URL is set, else an in-process store with the same semantics (TTL expiry, single-use take) for a
// single instance with nothing installed — said once, at start, so nobody runs two instances on it unawares.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { SINGLE_INSTANCE_NOTICE, createKeyValueStore, type KeyValueStore } from '@quartet/common';

declare module 'fastify' {
  interface FastifyInstance {
    kv: KeyValueStore;
  }
}

export default fp(
  async (app: FastifyInstance, opts: { store?: KeyValueStore }) => {
    const { REDIS_URL, REDIS_PREFIX } = app.config;
    const store = opts.store ?? createKeyValueStore(REDIS_URL, REDIS_PREFIX);
    if (!opts.store && !REDIS_URL) app.log.warn(SINGLE_INSTANCE_NOTICE);
    app.decorate('kv', store);
    app.addHook('onClose', () => store.close());
  },
  { name: 'kv-store', dependencies: ['config'] },
);
