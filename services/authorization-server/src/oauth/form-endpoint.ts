// The client-authenticated form endpoints (token, revocation, introspection) read
// application/x-www-form-urlencoded bodies only. Any other body is accepted by the parser and then refused
// by requireFormBody with RFC 6749 invalid_request (400), rather than Fastify's generic 415 that a client
// reading §5.2 errors would not understand.
import type { FastifyInstance } from 'fastify';
import { readClientCredentials, authenticateClient } from './client-authentication.js';
import { rejectRepeatedParameters, requireFormBody } from './token-checks.js';
import type { ClientRecord } from '../plugins/repositories.js';
import type { RawParams } from '../lib/params.js';

export const FORM_BODY_LIMIT = 16384;

export function acceptAnyBody(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: FORM_BODY_LIMIT }, (_request, _body, done) => done(null, undefined));
}

type FormHeaders = { 'content-type'?: string; authorization?: string };

/** The form parameters, none repeated (RFC 6749 §3.2). */
export function readForm(headers: FormHeaders, body: unknown): RawParams {
  const params = requireFormBody(headers['content-type'], body);
  rejectRepeatedParameters(params);
  return params;
}

/** The client that authenticated with one of the RFC 6749 §2.3 methods. */
export function authenticate(app: FastifyInstance, headers: FormHeaders, params: RawParams): Promise<ClientRecord> {
  return authenticateClient(app.clients, readClientCredentials(headers.authorization, params));
}
