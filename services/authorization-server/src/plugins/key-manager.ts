// Wires the signing keys (stores/signing-keys.ts) onto the app: loaded (or created once) at start, re-read
// every KEY_RELOAD_INTERVAL seconds, the reload timer stopped on close.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { KeyManager } from '../stores/signing-keys.js';

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyManager;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    const keys = await KeyManager.load(app.prisma, app.config.KEY_ENCRYPTION_SECRET);
    keys.startReloading(app.config.KEY_RELOAD_INTERVAL, app.log);
    // Stop the timer and let a reload in flight finish, so nothing touches the database once it is closed.
    app.addHook('onClose', async () => {
      keys.stopReloading();
      await keys.settled();
    });
    app.decorate('keys', keys);
  },
  { name: 'key-manager', dependencies: ['config', 'prisma'] },
);
