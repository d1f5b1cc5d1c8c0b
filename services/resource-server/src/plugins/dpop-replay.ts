// The DPoP proofs' jti replay guard (RFC 9449 §11.1) as `app.dpopReplay`: a proof's jti is remembered for
// as long as its iat keeps it acceptable, so a second request with the same proof is refused. In Redis when
// REDIS_URL is set — shared by every replica, so a proof captured and replayed against another instance is
// refused too — else in this process (a single instance). Either way capped at MAX_DPOP_PROOFS, since any
// stranger with a key pair can make us remember a jti; a full guard answers 503 + Retry-After (StoreFullError),
// never lets a proof through unchecked. Redis is used for nothing else here, and is not part of /readyz: an
// outage only makes DPoP requests 503 (every replica shares it, so leaving rotation would not help).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createKeyValueStore, replayGuardFrom, type KeyValueStore, type ReplayGuard } from '@quartet/common';

declare module 'fastify' {
  interface FastifyInstance {
    dpopReplay: ReplayGuard;
    /** Where DPoP jti are remembered, for the start-up log (never credentials). */
    dpopReplayStore: { description: string };
  }
}

export interface DpopReplayOptions {
  /** A ready store (tests); default: Redis at REDIS_URL, else in-process. */
  store?: KeyValueStore;
}

async function dpopReplay(app: FastifyInstance, options: DpopReplayOptions): Promise<void> {
  const { config } = app;
  const store = options.store ?? createKeyValueStore(config.REDIS_URL, config.REDIS_PREFIX);
  app.decorate('dpopReplay', replayGuardFrom(store, { name: 'dpop-proofs', maxEntries: config.MAX_DPOP_PROOFS }));
  app.decorate('dpopReplayStore', { description: store.description });
  app.addHook('onClose', () => store.close());
}

export default fp(dpopReplay, { name: 'dpop-replay', dependencies: ['config'] });
