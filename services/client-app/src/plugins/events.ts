// The client's protocol events bus (see oauth/events.ts), decorated as `app.events`. A listener that throws is
// logged here and never reaches the request that emitted the event.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { ProtocolEvents } from '@quartet/common';
import type { ClientEvents } from '../oauth/events.js';

declare module 'fastify' {
  interface FastifyInstance {
    events: ProtocolEvents<ClientEvents>;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    app.decorate(
      'events',
      new ProtocolEvents<ClientEvents>((err, event) => {
        const e = err instanceof Error ? { name: err.name, message: err.message } : { message: String(err) };
        app.log.error({ err: e, event }, 'protocol event listener failed');
      }),
    );
  },
  { name: 'events' },
);
