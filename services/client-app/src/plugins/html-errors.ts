// Every error becomes a readable HTML page with a next step. Outages (Redis, the authorization server, the
// resource server) answer 503 with Retry-After and keep the user's session; a token the resource server
// still rejects after a refresh (RFC 6750 §3.1 invalid_token), a refused refresh (RFC 6749 §5.2 invalid_grant)
// or a missing refresh token end the connection: tokens dropped, "connect again" page; insufficient_scope
// names the missing scope. No stack trace, upstream body or token ever reaches a page or the log.
// This is the only place that makes pages of errors: the protocol layer throws typed errors with a reason
// (oauth/errors.ts), and their headings, explanations and next steps are written here.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError, RETRY_AFTER_SECONDS, isStorageOutage } from '@quartet/common';
import {
  CallbackError,
  ConnectionEndedError,
  ResourceError,
  TokenRequestError,
  UpstreamUnavailableError,
} from '../oauth/errors.js';
import { UnknownSwitchError } from '../workshop/lab/switches/index.js';

const RETRY_AFTER = String(RETRY_AFTER_SECONDS);

export interface MessagePage {
  status: number;
  heading: string;
  explanation: string;
  action?: { href: string; label: string } | undefined;
  secondaryAction?: { href: string; label: string } | undefined;
  detail?: string | undefined;
  headers?: Record<string, string>;
}

declare module 'fastify' {
  interface FastifyReply {
    /** Renders the generic message page (errors, "you declined", "connect again"). */
    showMessage(page: MessagePage): Promise<FastifyReply>;
  }
}

const home = { href: '/', label: 'Back to the start' };
const reconnect = { href: '/connect', label: 'Connect again' };
const restart = { href: '/connect', label: 'Start again' };
const backToLab = { href: '/workshop/lab', label: 'Back to the lab' };

/** An authorization response that cannot be matched to a flow of this browser (RFC 6749 §10.12). */
const unusableCallback = (explanation: string): MessagePage => ({
  status: 400,
  heading: 'This sign-in response cannot be used',
  explanation,
  action: restart,
});

/** Each refused callback's page (RFC 6749 §4.1.2, §4.1.2.1, §10.12; RFC 9207 §2.4). */
function callbackPage(err: CallbackError): MessagePage {
  switch (err.reason) {
    case 'missing-state':
      return unusableCallback(
        'The response carries no "state", so it cannot be matched to a sign-in started in this browser.',
      );
    case 'no-session':
      return unusableCallback('No sign-in was started in this browser (or it expired), so the response was ignored.');
    case 'unknown-state':
      return unusableCallback(
        'The "state" does not match a sign-in in progress in this browser: it is unknown, expired, or was already used.',
      );
    case 'untrusted-response':
      return {
        status: 400,
        heading: 'This sign-in response cannot be trusted',
        explanation:
          'The response did not come from the expected authorization server for this request, so it was ignored. Please connect again.',
        action: home,
        detail: err.detail,
      };
    case 'authorization-refused':
      return {
        status: 400,
        heading: 'The authorization server refused the request',
        explanation: `It answered "${err.error}".`,
        detail: err.detail,
        action: restart,
      };
  }
}

/** A token request that gave no tokens (RFC 6749 §5.1, §5.2). */
function tokenRequestPage(err: TokenRequestError): MessagePage {
  if (err.reason === 'code-refused') {
    return {
      status: 502,
      heading: 'The authorization server did not issue a token',
      explanation: `It answered "${err.error}". Sign-in codes are short-lived and work only once; please connect again.`,
      action: reconnect,
    };
  }
  return {
    status: 502,
    heading: 'The authorization server sent an unusable token response',
    explanation: err.grant === 'refresh_token' ? 'Please try again, or connect again.' : 'Please try connecting again.',
    action: reconnect,
    detail: err.detail,
  };
}

const connectionEnded: MessagePage = {
  status: 200,
  heading: 'Please connect again',
  explanation:
    'The access to your photos that you gave this app was withdrawn or has expired (for example, you revoked it at the ' +
    'authorization server, or it was not used for a long time). This app has forgotten it. Connect again to continue.',
  action: reconnect,
};

/** Safe to log: the name and message of an error, never its cause (which may hold an upstream body). */
function summary(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { err: String(err) };
  const cause = err.cause instanceof Error ? { name: err.cause.name, message: err.cause.message } : undefined;
  return { err: { name: err.name, message: err.message, stack: err.stack }, cause };
}

async function describe(err: unknown, request: FastifyRequest, app: FastifyInstance): Promise<MessagePage> {
  if (err instanceof CallbackError) return callbackPage(err);
  if (err instanceof TokenRequestError) return tokenRequestPage(err);
  // @fastify/csrf-protection: no CSRF secret cookie, or a token that does not match it.
  if ((err as Partial<FastifyError>).code?.startsWith('FST_CSRF_')) {
    return {
      status: 403,
      heading: 'Request refused',
      explanation: 'This form was not sent from this app’s own page, so it was ignored.',
      action: request.url.startsWith('/workshop/lab') ? backToLab : home,
    };
  }
  if (err instanceof UnknownSwitchError) {
    return {
      status: 400,
      heading: 'Unknown lab switch',
      explanation: 'There is no such switch in the lab.',
      action: backToLab,
    };
  }
  // Before the storage check: a refused connection to the AS/RS also looks like an outage in the cause chain.
  if (err instanceof UpstreamUnavailableError) {
    request.log.warn(summary(err), `${err.upstream} unavailable`);
    return {
      status: 503,
      heading: `The ${err.upstream} is not answering`,
      explanation: `This app could not reach the ${err.upstream}. Please try again in a few seconds.`,
      action: home,
      headers: { 'retry-after': RETRY_AFTER },
    };
  }
  if (err instanceof ApiError && (err.status === 429 || err.status === 503)) {
    // Too many requests from this address, or too many flows in progress (a capped store is full).
    return {
      status: err.status,
      heading: err.status === 429 ? 'Too many requests' : 'Temporarily unavailable',
      explanation: err.description,
      action: home,
      headers: err.headers,
    };
  }
  // (A client that went away mid-body is a Fastify 400 with ECONNRESET: not an outage.)
  if (isStorageOutage(err) && !(((err as Partial<FastifyError>).statusCode ?? 500) < 500)) {
    request.log.warn(summary(err), 'session store unavailable');
    return {
      status: 503,
      heading: 'Temporarily unavailable',
      explanation: 'Our session store is not answering right now. Nothing is lost; please try again in a few seconds.',
      action: { href: request.url, label: 'Try again' },
      headers: { 'retry-after': RETRY_AFTER },
    };
  }
  if (err instanceof ConnectionEndedError) {
    // The tokens are already gone (dropped where the refresh failed). 200, not 401: this is a page for a
    // person, not an HTTP authentication challenge, and nothing is wrong with the request itself.
    return connectionEnded;
  }
  if (err instanceof ResourceError && err.reason === 'token-rejected') {
    // Still rejected after a refresh (or nothing to refresh with): keeping it would only fail again (RFC 6750 §3.1).
    await app.sessions.forgetTokens(request);
    return connectionEnded;
  }
  if (err instanceof ResourceError && err.reason === 'insufficient-scope') {
    const scope = err.scope;
    return {
      status: 403,
      heading: 'This app was not given that permission',
      explanation: scope
        ? `The resource server requires the scope "${scope}", which you did not grant to this app. Connect again and approve "${scope}" to see this page.`
        : 'The resource server requires a permission (scope) that you did not grant to this app. Connect again and approve it to see this page.',
      action: reconnect,
    };
  }
  if (err instanceof ResourceError && err.reason === 'not-found') {
    return {
      status: 404,
      heading: 'Not found',
      explanation: 'The resource server has no such item for you.',
      action: home,
    };
  }
  if (err instanceof ResourceError) {
    request.log.warn(summary(err), 'unexpected resource server response');
    return {
      status: 502,
      heading: 'Unexpected answer',
      explanation: 'The resource server sent an answer this app does not understand.',
      action: home,
    };
  }
  const fe = err as Partial<FastifyError>;
  if (fe.validation) {
    return {
      status: 400,
      heading: 'Bad request',
      explanation: 'The request was not in the expected form.',
      action: home,
    };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return {
      status: fe.statusCode,
      heading: 'Bad request',
      explanation: 'The request could not be processed.',
      action: home,
    };
  }
  request.log.error(summary(err), 'request failed');
  return {
    status: 500,
    heading: 'Something went wrong',
    explanation: 'An unexpected error occurred. Please try again.',
    action: home,
  };
}

async function htmlErrorsPlugin(app: FastifyInstance) {
  app.decorateReply('showMessage', async function (this: FastifyReply, page: MessagePage) {
    return this.code(page.status)
      .headers(page.headers ?? {})
      .header('cache-control', 'no-store')
      .view('message.njk', page);
  });

  app.setErrorHandler(async (err, request, reply) => {
    let page: MessagePage;
    try {
      page = await describe(err, request, app);
    } catch (inner) {
      // Dropping the rejected token failed (the store is down as well): the outage is what the user must hear about.
      page = await describe(inner, request, app);
    }
    try {
      return await reply.showMessage(page);
    } catch (renderErr) {
      request.log.error(summary(renderErr), 'error page could not be rendered');
      return reply.code(page.status).type('text/plain; charset=utf-8').send(`${page.heading}\n\n${page.explanation}\n`);
    }
  });

  app.setNotFoundHandler(async (request, reply) =>
    reply.showMessage({
      status: 404,
      heading: 'Page not found',
      explanation: `There is no page at ${request.url.split('?')[0]}.`,
      action: home,
    }),
  );
}

export default fp(htmlErrorsPlugin, { name: 'html-errors', dependencies: ['@fastify/view', 'session'] });
