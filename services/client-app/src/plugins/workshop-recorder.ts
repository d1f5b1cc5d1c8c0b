// Workshop mode only: records the client's protocol events (oauth/events.ts) as steps of the flow inspector,
// in the flow the call belongs to — the token, refresh and revocation requests with masked credentials, their
// answers, the access token decoded for display, and the Bearer calls to the resource server. Registered by
// app.ts only when WORKSHOP_MODE is on; the protocol code emits the same events either way.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { AuthorizationServerCall, FlowContext } from '../oauth/events.js';
import {
  recordAccessToken,
  recordApiRequest,
  recordApiResponse,
  recordDpopProof,
  recordFormRequest,
  recordJsonResponse,
} from '../workshop/inspector/record.js';

/** How each back-channel call is titled in the inspector: its request, then its response. */
const TITLES: Record<AuthorizationServerCall, { request: string; response: string }> = {
  authorization_code: { request: 'Token request (authorization_code grant)', response: 'Token response' },
  refresh_token: { request: 'Refresh request (refresh_token grant)', response: 'Refresh response' },
  revocation: { request: 'Revocation request (RFC 7009)', response: 'Revocation response' },
  pushed_authorization_request: {
    request: 'Pushed authorization request (RFC 9126)',
    response: 'Pushed authorization response',
  },
};

async function workshopRecorderPlugin(app: FastifyInstance) {
  const recorder = (flow: FlowContext) => app.inspector.recorder(flow.request, flow.traceId);

  app.events.on('as.request', (e) =>
    recordFormRequest(
      recorder(e.flow),
      TITLES[e.call].request,
      e.endpoint,
      e.clientId,
      e.params,
      e.traceparent,
      e.assertion,
    ),
  );
  app.events.on('as.response', (e) =>
    recordJsonResponse(recorder(e.flow), TITLES[e.call].response, e.status, e.body, e.rejected),
  );
  app.events.on('access-token.issued', (e) =>
    recordAccessToken(
      recorder(e.flow),
      e.accessToken,
      e.call === 'refresh_token' ? 'New access token decoded' : 'Access token decoded',
      e.dpopJkt,
    ),
  );
  app.events.on('rs.request', (e) =>
    recordApiRequest(recorder(e.flow), e.method, e.url, e.accessToken, e.traceparent, e.scheme),
  );
  app.events.on('dpop.proof', (e) => recordDpopProof(recorder(e.flow), e.to, e.proof, e.jkt, e.accessToken));
  app.events.on('rs.response', (e) => recordApiResponse(recorder(e.flow), e.path, e.status, e.challenge));
}

export default fp(workshopRecorderPlugin, { name: 'workshop-recorder', dependencies: ['events', 'inspector'] });
