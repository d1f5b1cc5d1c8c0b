// Workshop mode (WORKSHOP_MODE, off by default): request.trace for every request and
// GET /workshop/traces/:traceId (@quartet/common workshopTrace), and the steps of the Bearer check
// (lib/workshop-steps.ts) recorded from the events of plugins/token-verifier.ts. Off, nothing subscribes, so
// the verifier does not even collect which key fetches a verification caused.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { workshopTrace } from '@quartet/common';
import * as steps from '../lib/workshop-steps.js';

async function workshop(app: FastifyInstance): Promise<void> {
  const { config, events } = app;
  await app.register(workshopTrace, {
    enabled: config.WORKSHOP_MODE,
    secret: config.WORKSHOP_TRACE_SECRET,
    service: 'resource-server',
    role: 'resource server',
  });
  if (!config.WORKSHOP_MODE) return;
  events.on('check.failed', ({ request, reason, accessToken }) => {
    if (reason === 'missing') steps.noToken(request.trace);
    if (reason === 'client_token' && accessToken) steps.clientToken(request.trace, accessToken);
  });
  events.on('token.presented', ({ request }) => steps.tokenRead(request.trace));
  events.on('keys.fetched', ({ request, token, fetches, metadataUrl }) =>
    steps.keyFetches(request.trace, token, fetches, metadataUrl),
  );
  events.on('token.verified', ({ request, token, accessToken, fetches, metadataUrl }) =>
    steps.verified(request.trace, token, accessToken, fetches, metadataUrl),
  );
  events.on('token.accepted', ({ request, scope, accessToken }) =>
    steps.scopeGranted(request.trace, scope, accessToken),
  );
}

export default fp(workshop, { name: 'workshop', dependencies: ['config', 'events'] });
