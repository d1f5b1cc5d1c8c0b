// The contract's 404 body for items: {"error":"not_found", ...}. "not_found" is not an RFC 6749 code (so
// OAuthError does not carry it); the same shape is what @quartet/common's JSON 404 for unknown routes uses.
import type { FastifyReply } from 'fastify';

export function sendNotFound(reply: FastifyReply, what: 'photo' | 'document'): FastifyReply {
  return reply.code(404).send({ error: 'not_found', error_description: `No such ${what}.` });
}
