// app.events: the protocol core's events (domain/events.ts). Emitting is synchronous and a listener that
// throws is logged here, never reported to the request that emitted: a broken metrics or tracing listener
// must not change an OAuth answer. Subscribers (oauth-metrics, workshop-tracing) register in their own plugins.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { ProtocolEvents } from '@quartet/common';
import type { AuthorizationServerEvents } from '../domain/events.js';

declare module 'fastify' {
  interface FastifyInstance {
    events: ProtocolEvents<AuthorizationServerEvents>;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    app.decorate(
      'events',
      new ProtocolEvents<AuthorizationServerEvents>((err, event) =>
        app.log.error({ err, event }, 'protocol event listener failed'),
      ),
    );
  },
  { name: 'events' },
);
