// One id per request, the same in every log line of that request and carried across services, so one user
// action can be followed through the client app, the authorization server and the resource server:
// - an incoming `x-request-id` is reused when it is a short token of safe characters (anything else could be
//   used to forge or flood log lines, so it is replaced, not trusted);
// - else one is derived from a W3C Trace Context `traceparent` (Trace Context §3.2) as
//   `<trace-id>-<parent-id>`: unique per call, and grep-able by the trace id across services;
// - else a random UUID.
// Fastify logs it as `reqId` on every line of the request; it is echoed as `x-request-id` on every response,
// and code that calls another service sends it on (requestIdHeaders) from the AsyncLocalStorage set here.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';

export const REQUEST_ID_HEADER = 'x-request-id';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// version 00; trace-id and parent-id lowercase hex, never all zeros (Trace Context §3.2.2.3-§3.2.2.4).
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value?.trim();
}

/** The id a request gets from its headers (see the module header for the order). */
export function requestIdFrom(headers: IncomingMessage['headers']): string {
  const given = single(headers[REQUEST_ID_HEADER]);
  if (given && SAFE_REQUEST_ID.test(given)) return given;
  const trace = TRACEPARENT.exec(single(headers.traceparent) ?? '');
  if (trace && !/^0+$/.test(trace[1]!) && !/^0+$/.test(trace[2]!)) return `${trace[1]}-${trace[2]}`;
  return randomUUID();
}

/** Fastify server options: request ids from requestIdFrom (Fastify logs them as `reqId`, its default label). */
export function requestIdOptions(): Pick<FastifyServerOptions, 'genReqId'> {
  return { genReqId: (req) => requestIdFrom(req.headers) };
}

const current = new AsyncLocalStorage<string>();

/** The id of the request being handled (undefined outside a request). */
export function currentRequestId(): string | undefined {
  return current.getStore();
}

/** `{ 'x-request-id': id }` for a call to another service made while handling a request, else `{}`. */
export function requestIdHeaders(): Record<string, string> {
  const id = current.getStore();
  return id ? { [REQUEST_ID_HEADER]: id } : {};
}

export interface RequestIdOptions {
  /**
   * Make the id current for the request's handlers (currentRequestId, requestIdHeaders), for a service that
   * calls other services. Off by default: once an AsyncLocalStorage is entered, Node 20 tracks the context
   * of every promise the process creates, which was about 2 % of the resource server's CPU in a profile
   * (docs/benchmarks.md), and a service that calls no one never reads it.
   */
  propagate?: boolean;
}

/**
 * Echoes the id on every response and, with `propagate`, makes it the current one for the request's
 * handlers. Bound twice: at onRequest, and again at preHandler because body parsing runs in the socket's
 * async context and loses it.
 */
export const requestIds = fp(
  async (app: FastifyInstance, options: RequestIdOptions) => {
    app.addHook('onRequest', (request, reply, done) => {
      reply.header(REQUEST_ID_HEADER, request.id);
      if (options.propagate) current.run(request.id, done);
      else done();
    });
    if (options.propagate) app.addHook('preHandler', (request, _reply, done) => current.run(request.id, done));
  },
  { name: 'request-ids' },
);
