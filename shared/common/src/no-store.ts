// Every answer of a Quartet service concerns one person's data, a token or a login, so no browser or shared
// cache may keep it unless its route says otherwise (RFC 6749 §5.1 for token responses, RFC 6750 §5.3 for
// protected resources, RFC 9111 §5.2.2.5): one onSend hook that sets `Cache-Control: no-store` wherever a
// route has not set its own Cache-Control.
import type { FastifyInstance } from 'fastify';

export function noStoreByDefault(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
}
