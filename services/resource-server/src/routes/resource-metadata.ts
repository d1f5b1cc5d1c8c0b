// GET /.well-known/oauth-protected-resource — RFC 9728 §3 protected resource metadata (document built in
// lib/resource-metadata.ts). Public and the same for everyone, so unlike the API it may be cached (§3.2 only
// requires 200 + application/json); no token is needed to read it, since it is how a client learns how to get one.
import type { FastifyInstance } from 'fastify';
import { dpopAlgorithms } from '../config.js';
import { protectedResourceMetadata, resourceMetadataPaths } from '../lib/resource-metadata.js';

/** Long enough to spare clients a request per call, short enough that a changed AS is picked up the same day. */
export const METADATA_CACHE_CONTROL = 'public, max-age=3600';

export default async function resourceMetadataRoutes(app: FastifyInstance): Promise<void> {
  const {
    RESOURCE_ID: resourceId,
    AUTHORIZATION_SERVER: authorizationServer,
    DPOP_REQUIRED: dpopRequired,
  } = app.config;
  const body = JSON.stringify(
    protectedResourceMetadata({
      resourceId,
      authorizationServer,
      dpopRequired,
      dpopAlgorithms: dpopAlgorithms(app.config),
    }),
  );
  for (const url of resourceMetadataPaths(resourceId)) {
    app.get(url, async (_request, reply) =>
      reply.type('application/json; charset=utf-8').header('cache-control', METADATA_CACHE_CONTROL).send(body),
    );
  }
}
