// GET /authorize — the authorization endpoint (RFC 6749 §3.1, §4.1.1-§4.1.2.1; RFC 7636; RFC 9207; RFC 9126 §4).
// A protocol route: it validates, stores the request server-side and redirects; it never renders forms.
// Until the client and redirect URI are verified, errors are an HTML page (never a redirect); after that,
// every error (including a storage outage, as temporarily_unavailable) goes back to the client.
// With a request_uri (RFC 9126 §4) the request is the one the client pushed to the PAR endpoint, taken once; the
// other query parameters are ignored (RFC 9101 §6.3), client_id excepted, which must name the pushing client.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApiError, RETRY_AFTER_SECONDS, isStorageOutage, perAddressRateLimit } from '@quartet/common';
import { PageError, renderErrorPage } from '../plugins/pages.js';
import { waitText } from '../lib/wait-text.js';
import {
  readState,
  requireClientId,
  requireKnownClient,
  resolveRedirectUri,
  validateAuthorizationRequest,
} from '../oauth/authorize-checks.js';
import {
  recheckPushedRedirectUri,
  recheckPushedRequest,
  requirePushedByClient,
  requirePushedWhereRequired,
  requireRequestUriForm,
} from '../oauth/par-checks.js';
import { authorizationResponseUrl, errorResponseParams } from '../oauth/authorization-response.js';
import type { RawParams } from '../lib/params.js';
import type { AuthorizationRequest, ClientRecord } from '../domain/records.js';

// Repeated parameters arrive as arrays; the checks reject them with the right error.
const Query = Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]));

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.setErrorHandler((err, request, reply) => renderErrorPage(request, reply, err));

  // A loose per-address limit (RATE_LIMIT_AUTHORIZE a minute): every request here makes the server keep a
  // pending request, so one address must not be able to fill the store for everyone.
  const config = perAddressRateLimit(
    app.config.RATE_LIMIT_AUTHORIZE,
    (seconds) =>
      new PageError(
        429,
        'Too many requests',
        `This network sent too many sign-in requests. Try again in ${waitText(seconds)}.`,
      ),
  );

  /** RFC 9126 §4: the pushed request a request_uri stands for, taken (single use); a page when there is none. */
  async function takePushed(params: RawParams, client: ClientRecord): Promise<AuthorizationRequest> {
    try {
      const pushed = requirePushedByClient(await app.pushedRequests.take(requireRequestUriForm(params)), client);
      recheckPushedRedirectUri(pushed, client);
      return pushed;
    } catch (err) {
      if (err instanceof PageError) app.events.emit('par.request-uri-rejected', { clientId: client.id });
      throw err;
    }
  }

  app.get('/authorize', { schema: { querystring: Query }, config }, async (request, reply) => {
    const params = request.query as RawParams;
    const client = requireKnownClient(await app.clients.findById(requireClientId(params)));
    const pushed = params.request_uri !== undefined ? await takePushed(params, client) : null;
    const redirect = pushed
      ? { redirectUri: pushed.redirectUri, provided: pushed.redirectUriProvided }
      : resolveRedirectUri(params, client);
    try {
      let authRequest: AuthorizationRequest;
      if (pushed) authRequest = recheckPushedRequest(pushed, client);
      else {
        // RFC 9126 §4-§6: where PAR is required, the request had to come by request_uri.
        requirePushedWhereRequired(client, app.config.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS);
        authRequest = validateAuthorizationRequest(params, client, redirect, app.resources);
      }
      const requestId = await app.authorizationRequests.save(authRequest);
      app.events.emit('authorization.validated', { requestId, authorization: authRequest, pushed: pushed !== null });
      const session = await app.loginSessions.load(request);
      if (session) app.events.emit('login.session-found', { requestId, username: session.data.username });
      return reply.redirect(await app.authorizationFlow.next(requestId, authRequest, session?.data ?? null), 303);
    } catch (err) {
      if (isStorageOutage(err)) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      else if (err instanceof ApiError) reply.headers(err.headers);
      else request.log.error({ err }, 'authorization request failed');
      const url = authorizationResponseUrl(redirect.redirectUri, {
        ...errorResponseParams(err),
        state: pushed ? pushed.state : readState(params),
        iss: app.config.ISSUER,
      });
      return reply.redirect(url, 303);
    }
  });
};

export default routes;
