// POST /oauth/device_authorization — the device authorization endpoint (RFC 8628 §3.1-§3.2). The client
// authenticates as at the token endpoint (a public client sends its client_id); the answer is a device code
// (256 random bits, for the device alone), a user code for the person, and where to enter it. Each request
// makes the server keep a pending authorization, so they are capped (MAX_DEVICE_AUTHORIZATIONS) and limited
// per address (RATE_LIMIT_DEVICE_AUTHORIZATION). Errors are RFC 6749 §5.2 JSON, also told as `check.failed`.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { perAddressRateLimit, tooManyRequests } from '@quartet/common';
import {
  FORM_BODY_LIMIT,
  acceptAnyBody,
  authenticatedClient,
  readForm,
  reportingFailures,
  type FailureContext,
} from '../oauth/form-endpoint.js';
import { requireAllowedScopes } from '../oauth/authorize-checks.js';
import { requireDeviceGrantAllowed } from '../oauth/device-checks.js';
import { readResource } from '../oauth/resources.js';
import { DEVICE_PATH } from '../plugins/device-codes.js';
import { generateDeviceCode } from '../stores/device-codes.js';
import { displayUserCode } from '../lib/device-grant.js';

export const DEVICE_AUTHORIZATION_PATH = '/oauth/device_authorization';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  acceptAnyBody(app);
  const { ISSUER, DEVICE_CODE_TTL, DEVICE_POLL_INTERVAL } = app.config;
  const config = perAddressRateLimit(app.config.RATE_LIMIT_DEVICE_AUTHORIZATION, (seconds) =>
    tooManyRequests(
      seconds,
      `Too many device authorization requests from this network; try again in ${seconds} seconds.`,
    ),
  );

  app.post(DEVICE_AUTHORIZATION_PATH, { bodyLimit: FORM_BODY_LIMIT, config }, async (request, reply) => {
    const context: FailureContext = {};
    const body = await reportingFailures(app, request, DEVICE_AUTHORIZATION_PATH, context, async () => {
      const params = readForm(request.headers, request.body);
      const client = await authenticatedClient(app, request, params, DEVICE_AUTHORIZATION_PATH, context);
      requireDeviceGrantAllowed(client);
      // RFC 8628 §3.1: scope as in RFC 6749 §3.3 (required here, as at /authorize); RFC 8707 resource.
      const scopes = requireAllowedScopes(params, client);
      const resource = readResource(params, app.resources.known) ?? app.resources.defaultAudience;
      const deviceCode = generateDeviceCode();
      const userCode = await app.deviceCodes.create(deviceCode, {
        clientId: client.id,
        scopes,
        resource,
        interval: DEVICE_POLL_INTERVAL,
      });
      app.events.emit('device.authorized', { request, client, scopes, expiresIn: DEVICE_CODE_TTL });
      request.log.info({ clientId: client.id }, 'device authorization issued');
      const verificationUri = `${ISSUER}${DEVICE_PATH}`;
      return {
        device_code: deviceCode,
        user_code: displayUserCode(userCode),
        verification_uri: verificationUri,
        // RFC 8628 §3.3.1: the code in the link (for a QR code); the page still asks the person to confirm.
        verification_uri_complete: `${verificationUri}?user_code=${displayUserCode(userCode)}`,
        expires_in: DEVICE_CODE_TTL,
        interval: DEVICE_POLL_INTERVAL,
      };
    });
    // RFC 8628 §3.2 / RFC 6749 §5.1: the response carries a credential and must not be cached.
    return reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' }).send(body);
  });
};

export default routes;
