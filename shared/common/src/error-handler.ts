// The one serializer for API errors: RFC 6749 §5.2 JSON bodies with Cache-Control: no-store.
// Stack traces and internal messages never reach a response; they go to the log only.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError, RETRY_AFTER_SECONDS, isStorageOutage, safeDescription } from './errors.js';

export interface ErrorBody {
  error: string;
  error_description: string;
}

/** Maps any thrown value to the status, headers and body a client may see. */
export function describeError(err: unknown): { status: number; headers: Record<string, string>; body: ErrorBody } {
  if (err instanceof ApiError) {
    return { status: err.status, headers: err.headers, body: err.toJSON() };
  }
  const fe = err as Partial<FastifyError>;
  // Before the outage check: a client that goes away mid-body gives Fastify an ECONNRESET "aborted" error
  // with status 400, which must not be reported (and logged at error level) as a storage outage.
  const clientError = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500;
  if (!clientError && isStorageOutage(err)) {
    return {
      status: 503,
      headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
      body: {
        error: 'temporarily_unavailable',
        error_description: 'A storage service is unavailable; try again shortly.',
      },
    };
  }
  if (fe.validation) {
    return {
      status: 400,
      headers: {},
      body: { error: 'invalid_request', error_description: safeDescription(fe.message ?? 'Invalid request.') },
    };
  }
  if (clientError) {
    // Fastify's own client errors (bad JSON, unsupported media type, body too large): their messages are safe.
    return {
      status: fe.statusCode!,
      headers: {},
      body: { error: 'invalid_request', error_description: safeDescription(fe.message ?? 'Bad request.') },
    };
  }
  return {
    status: 500,
    headers: {},
    body: { error: 'server_error', error_description: 'An unexpected error occurred.' },
  };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const { status, headers, body } = describeError(err);
  if (status >= 500) request.log.error({ err }, 'request failed');
  else request.log.info({ error: body.error }, 'request rejected');
  return reply
    .code(status)
    .headers({ ...headers, 'cache-control': 'no-store', pragma: 'no-cache' })
    .send(body);
}

/** Installs the JSON error handler and a JSON 404 for the whole app. */
export const jsonErrors = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler((err, request, reply) => sendError(request, reply, err));
    app.setNotFoundHandler((request, reply) =>
      reply
        .code(404)
        .header('cache-control', 'no-store')
        .send({ error: 'not_found', error_description: `No route for ${request.method} ${request.url.split('?')[0]}` }),
    );
  },
  { name: 'json-errors' },
);
