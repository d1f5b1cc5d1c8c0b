// POST /oauth/par — the pushed authorization request endpoint (RFC 9126 §2). The client authenticates as at the
// token endpoint (client_secret_basic, client_secret_post, or its client_id alone for a public client; failed
// secrets throttled), pushes the parameters of an authorization request, which are validated as /authorize
// validates them (§2.1; oauth/par-checks.ts) and refused as token-endpoint JSON errors (§2.3), and gets 201 with
// a request_uri for /authorize (§2.2, §4): single use, bound to the client, PAR_REQUEST_TTL seconds. A DPoP proof
// on the push (or dpop_jkt) binds the code to a key (RFC 9449 §10.1). Each push makes the server keep a request,
// so pushes are capped (MAX_PUSHED_AUTHORIZATIONS) and limited per address (RATE_LIMIT_PAR); refusals are told
// to subscribers as `check.failed`.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OAuthError, perAddressRateLimit, tooManyRequests } from '@quartet/common';
import {
  FORM_BODY_LIMIT,
  acceptAnyBody,
  authenticatedClient,
  readForm,
  reportingFailures,
  type FailureContext,
} from '../oauth/form-endpoint.js';
import { provideDpopNonces, readPushedProofKey } from '../oauth/dpop-checks.js';
import { validatePushedRequest } from '../oauth/par-checks.js';

export const PAR_PATH = '/oauth/par';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  acceptAnyBody(app);
  // RFC 9449 §8: with DPOP_NONCE_REQUIRED every answer carries a fresh DPoP-Nonce.
  provideDpopNonces(app);
  const { PAR_REQUEST_TTL } = app.config;
  const config = perAddressRateLimit(app.config.RATE_LIMIT_PAR, (seconds) =>
    tooManyRequests(
      seconds,
      `Too many pushed authorization requests from this network; try again in ${seconds} seconds.`,
    ),
  );

  app.post(PAR_PATH, { bodyLimit: FORM_BODY_LIMIT, config }, async (request, reply) => {
    const context: FailureContext = {};
    const body = await reportingFailures(app, request, PAR_PATH, context, async () => {
      const params = readForm(request.headers, request.body);
      // RFC 9126 §2: "the same rules for client authentication as defined in [RFC6749] for token endpoint requests".
      const client = await authenticatedClient(app, request, params, PAR_PATH, context);
      // RFC 9449 §10.1: checked first, as at the token endpoint (and so a nonce is asked for before anything else).
      const proofJkt = await readPushedProofKey(app, request);
      const authorization = validatePushedRequest(params, client, app.resources, proofJkt, {
        redirectUriRequired: app.config.PROFILE === 'fapi2',
      });
      const requestUri = await app.pushedRequests.push(authorization);
      app.events.emit('par.pushed', { request, client, authorization, expiresIn: PAR_REQUEST_TTL });
      request.log.info({ clientId: client.id }, 'authorization request pushed');
      return { request_uri: requestUri, expires_in: PAR_REQUEST_TTL };
    });
    // RFC 9126 §2.2: 201 Created; the request_uri stands for the request (and the code it leads to): no-store.
    return reply.code(201).headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(body);
  });

  // RFC 9126 §2.3: a request that does not use POST is answered 405 (RFC 9110 §15.5.6: with Allow).
  app.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url: PAR_PATH,
    handler: async () => {
      throw new OAuthError('invalid_request', 'The pushed authorization request endpoint takes POST only.', {
        status: 405,
        reason: 'par-method',
        headers: { allow: 'POST' },
      });
    },
  });
};

export default routes;
