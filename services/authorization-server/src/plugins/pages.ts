// Server-rendered pages (nunjucks through @fastify/view) and the local stylesheet, plus the HTML error page
// used by /authorize (RFC 6749 §4.1.2.1: never redirect to an unverified URI) and the interaction routes.
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import view from '@fastify/view';
import fastifyStatic from '@fastify/static';
import nunjucks from 'nunjucks';
import { ApiError, RETRY_AFTER_SECONDS, isStorageOutage } from '@quartet/common';
import { PUBLIC_DIR, VIEWS_DIR } from '../paths.js';

/** An error shown to the user as a page (never a redirect). */
export class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'PageError';
  }
}

export const expiredRequest = () =>
  new PageError(400, 'This sign-in request has expired', 'Go back to the application you came from and start again.');

export async function renderErrorPage(
  request: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
): Promise<FastifyReply> {
  let page: PageError;
  if (err instanceof PageError) {
    page = err;
  } else if (err instanceof ApiError && (err.status === 429 || err.status === 503)) {
    // A throttle or a full store (with its Retry-After): the same words a JSON client gets.
    reply.headers(err.headers);
    page = new PageError(
      err.status,
      err.status === 429 ? 'Too many requests' : 'Temporarily unavailable',
      err.description,
    );
  } else if (isStorageOutage(err) && !(((err as FastifyError).statusCode ?? 500) < 500)) {
    // (A client that went away mid-body is a Fastify 400 with ECONNRESET: not an outage.)
    reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    page = new PageError(
      503,
      'Temporarily unavailable',
      'The service cannot reach its storage right now. Please try again in a few seconds.',
    );
  } else if ((err as FastifyError).code?.startsWith('FST_CSRF_')) {
    page = new PageError(
      403,
      'Form expired',
      'This form was not sent from this site or has expired. Go back, reload the page and try again.',
    );
  } else if ((err as FastifyError).validation || ((err as FastifyError).statusCode ?? 500) < 500) {
    page = new PageError(400, 'Bad request', 'The request was malformed.');
  } else {
    request.log.error({ err }, 'page failed');
    page = new PageError(500, 'Something went wrong', 'An unexpected error occurred.');
  }
  if (page.status < 500) request.log.info({ status: page.status, title: page.title }, 'page error');
  return reply
    .code(page.status)
    .type('text/html; charset=utf-8')
    .view('error.njk', { title: page.title, detail: page.detail });
}

export default fp(
  async (app: FastifyInstance) => {
    await app.register(view, {
      engine: { nunjucks },
      root: VIEWS_DIR,
      options: { autoescape: true, throwOnUndefined: false },
    });
    await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/assets/', index: false });
  },
  { name: 'pages' },
);
