// MAX_CONCURRENT_UPLOADS: app.uploadSlot is an onRequest hook for upload routes. Placed after the scope check
// (`onRequest: [write, app.uploadSlot]`), it runs before the body is read, so a refused upload costs no
// memory, and only authenticated callers with the write scope ever hold a slot. The slot is given back when
// the response is done or the connection closes — reply.raw's 'close' fires once for either, whatever ended
// the request (success, a 4xx, a storage outage, a client that went away mid-upload).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { OAuthError, RETRY_AFTER_SECONDS } from '@quartet/common';
import { UploadSlots } from '../lib/upload-slots.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The upload slots of this process (MAX_CONCURRENT_UPLOADS). */
    uploadSlots: UploadSlots;
    /** onRequest hook: takes an upload slot for the request, or answers 503 + Retry-After when none is free. */
    uploadSlot(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}

export const UPLOADS_BUSY_DESCRIPTION = 'Too many uploads are in progress on this server; try again shortly.';

async function uploadSlots(app: FastifyInstance): Promise<void> {
  const slots = new UploadSlots(app.config.MAX_CONCURRENT_UPLOADS);
  app.decorate('uploadSlots', slots);
  app.decorate('uploadSlot', async function uploadSlot(request: FastifyRequest, reply: FastifyReply) {
    const release = slots.tryAcquire();
    if (!release) {
      // temporarily_unavailable is RFC 6749's "try again later", the code the API already uses for outages.
      throw new OAuthError('temporarily_unavailable', UPLOADS_BUSY_DESCRIPTION, {
        status: 503,
        headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
      });
    }
    reply.raw.once('close', release);
    // The client may have gone while the token was being checked: then 'close' has already fired.
    if (reply.raw.destroyed || request.raw.socket?.destroyed) release();
  });
}

export default fp(uploadSlots, { name: 'upload-slots', dependencies: ['config', 'json-errors'] });
