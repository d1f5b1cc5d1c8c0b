// The client-authenticated form endpoints (token, revocation, introspection) read
// application/x-www-form-urlencoded bodies only. Any other body is accepted by the parser and then refused
// by requireFormBody with RFC 6749 invalid_request (400), rather than Fastify's generic 415 that a client
// reading §5.2 errors would not understand.
// Client secrets are guessable only by trying (RFC 6749 §2.3.1 "MUST protect any endpoint utilizing it
// against brute force attacks"), so failed authentications of a registered client are counted and, past
// THROTTLE_CLIENT, every authentication of it is refused with 429 + Retry-After until the block ends. Failed
// client assertions (private_key_jwt) count the same way.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OAuthError, tooManyRequests } from '@quartet/common';
import { readClientCredentials, authenticateClient, requireAcceptedMethod } from './client-authentication.js';
import { clientAuthMethods } from '../config.js';
import { requireFormBody } from './token-checks.js';
import type { ClientAuthMethod, ClientRecord } from '../domain/records.js';
import type { Endpoint } from '../domain/events.js';
import { rejectRepeatedParameters, type RawParams } from '../lib/params.js';

export const FORM_BODY_LIMIT = 16384;

export function acceptAnyBody(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: FORM_BODY_LIMIT }, (_request, _body, done) =>
    done(null, undefined),
  );
}

type FormHeaders = { 'content-type'?: string; authorization?: string };

/** The form parameters, none repeated (RFC 6749 §3.2). */
export function readForm(headers: FormHeaders, body: unknown): RawParams {
  const params = requireFormBody(headers['content-type'], body);
  rejectRepeatedParameters(params);
  return params;
}

// Failures that say nothing about the credentials presented: the client's metadata document or jwks_uri could
// not be used.
const NOT_A_GUESS = ['client-metadata-document', 'client-jwks-uri'];

/**
 * The client that authenticated with one of the RFC 6749 §2.3 methods (or private_key_jwt, RFC 7523 §2.2), and
 * the method. `endpoint`: the path the request came to (`/oauth/token` …); a client assertion may name its URL as
 * aud (RFC 7523 §3), as well as the issuer. Without it only the issuer is accepted.
 */
export async function authenticate(
  app: FastifyInstance,
  headers: FormHeaders,
  params: RawParams,
  endpoint?: string,
): Promise<{ client: ClientRecord; method: ClientAuthMethod }> {
  const credentials = readClientCredentials(headers.authorization, params);
  requireAcceptedMethod(credentials, clientAuthMethods(app.config));
  const { method } = credentials;
  const assertions = {
    verifier: app.clientAssertions,
    endpointUrl: endpoint === undefined ? undefined : `${app.config.ISSUER}${endpoint}`,
  };
  // A public client presents no credential: nothing to guess, nothing to throttle.
  if (method === 'none') return { client: await authenticateClient(app.clients, credentials), method };
  const { client: throttle } = app.throttles;
  const wait = await throttle.blockedFor(credentials.clientId);
  if (wait > 0)
    throw tooManyRequests(wait, `Too many failed authentications of this client; try again in ${wait} seconds.`);
  try {
    return { client: await authenticateClient(app.clients, credentials, assertions), method };
  } catch (err) {
    // Counted for registered clients only, so made-up client ids create no counters.
    if (
      err instanceof OAuthError &&
      err.error === 'invalid_client' &&
      !NOT_A_GUESS.includes(err.reason) &&
      (await app.clients.findById(credentials.clientId))
    ) {
      await throttle.fail(credentials.clientId);
    }
    throw err;
  }
}

/**
 * The first step of every client-authenticated endpoint: authenticate() at `endpoint`, the client recorded in
 * `context` and told to subscribers (`client.authenticated`).
 */
export async function authenticatedClient(
  app: FastifyInstance,
  request: FastifyRequest,
  params: RawParams,
  endpoint: string,
  context: FailureContext,
): Promise<ClientRecord> {
  const { client, method } = await authenticate(app, request.headers, params, endpoint);
  context.clientId = client.id;
  app.events.emit('client.authenticated', { request, client, method });
  return client;
}

/** What a form endpoint has learnt so far about a request, for `check.failed`. */
export interface FailureContext {
  grantType?: string;
  clientId?: string;
}

/**
 * Runs a form endpoint's work; an OAuthError it throws is told to subscribers (`check.failed`, with the rule's
 * `reason`) and then answered as usual. `context` is filled in by the work as it learns more.
 */
export async function reportingFailures<T>(
  app: FastifyInstance,
  request: FastifyRequest,
  endpoint: Endpoint,
  context: FailureContext,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof OAuthError) {
      app.events.emit('check.failed', { request, endpoint, ...context, error: err.error, reason: err.reason });
    }
    throw err;
  }
}

/**
 * Registers the form endpoint `endpoint`: `work` gets the form (read as readForm does) and what it learns goes
 * into `context`; its failures are reported as reportingFailures does, and its answer (or empty body) is sent
 * with no-store, because token responses must not be cached (RFC 6749 §5.1; RFC 7009 §2.2 and RFC 7662 §2.2
 * answer in the same way).
 */
export function postForm<T>(
  app: FastifyInstance,
  endpoint: Endpoint,
  work: (request: FastifyRequest, params: RawParams, context: FailureContext) => Promise<T>,
): void {
  app.post(endpoint, { bodyLimit: FORM_BODY_LIMIT }, async (request, reply) => {
    const context: FailureContext = {};
    const answer = await reportingFailures(app, request, endpoint, context, async () =>
      work(request, readForm(request.headers, request.body), context),
    );
    return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(answer);
  });
}
