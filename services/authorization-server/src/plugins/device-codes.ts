// Wires the device authorization store (stores/device-codes.ts) onto the app: device codes and user codes in
// the key-value store for DEVICE_CODE_TTL, at most MAX_DEVICE_AUTHORIZATIONS at once.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { DeviceCodeStore } from '../stores/device-codes.js';

/** The verification page (RFC 8628 §3.2 verification_uri), under /interaction where the CSRF cookie lives. */
export const DEVICE_PATH = '/interaction/device';

declare module 'fastify' {
  interface FastifyInstance {
    deviceCodes: DeviceCodeStore;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    app.decorate(
      'deviceCodes',
      new DeviceCodeStore(app.kv, {
        ttlSeconds: app.config.DEVICE_CODE_TTL,
        maxEntries: app.config.MAX_DEVICE_AUTHORIZATIONS,
      }),
    );
  },
  { name: 'device-codes', dependencies: ['config', 'kv-store'] },
);
