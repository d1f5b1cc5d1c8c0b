// Builds the resource server: app.config and app.events, external plugins, then our own (storage, token
// verification and what subscribes to its events), then routes.
// RFC 6750 (Bearer usage), RFC 9449 (DPoP; the jti replay guard in plugins/dpop-replay.ts), RFC 9068 (JWT access tokens), RFC 8414 (AS metadata) are implemented in
// plugins/token-verifier.ts and lib/access-token-verifier.ts, RFC 9728 (protected resource metadata) in
// lib/resource-metadata.ts and routes/resource-metadata.ts; this file only wires them together.
import Fastify, { type FastifyInstance, type FastifySchemaValidationError, type FastifyServerOptions } from 'fastify';
import { jsonErrors, loggerOptions, noStoreByDefault, observability, serverOptions } from '@quartet/common';
import type { Config } from './config.js';
import configPlugin from './plugins/config.js';
import dpopReplay, { type DpopReplayOptions } from './plugins/dpop-replay.js';
import events from './plugins/events.js';
import repositories from './plugins/repositories.js';
import tokenMetrics from './plugins/token-metrics.js';
import tokenVerifier, { type TokenVerifierPluginOptions } from './plugins/token-verifier.js';
import uploadSlots from './plugins/upload-slots.js';
import workshop from './plugins/workshop.js';
import documentRoutes from './routes/documents.js';
import healthRoutes from './routes/health.js';
import photoRoutes from './routes/photos.js';
import resourceMetadataRoutes from './routes/resource-metadata.js';

export interface BuildOptions {
  /** Fastify logger setting; defaults to the shared JSON logger with redaction. */
  logger?: FastifyServerOptions['logger'];
  /** Overrides for the token verifier (cache durations, a custom fetch) or a ready verifier. */
  verifier?: TokenVerifierPluginOptions['verifier'];
  /** A ready key-value store for the DPoP jti replay guard (default: Redis at REDIS_URL, else in-process). */
  dpopReplayStore?: DpopReplayOptions['store'];
}

/** "body/contentType must be equal to one of the allowed values" does not say which; name them. */
function formatSchemaErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const text = errors
    .map((e) => {
      const where = `${dataVar}${e.instancePath}`;
      const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
      if (allowed) return `${where} must be one of ${allowed.join(', ')}`;
      return `${where} ${e.message ?? 'is invalid'}`;
    })
    .join(', ');
  return new Error(text);
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? loggerOptions('resource-server', config.LOG_LEVEL),
    // Request ids (x-request-id or traceparent of the caller, else a fresh one; logged as reqId on every
    // line) and requests still arriving during a graceful shutdown served (see @quartet/common observability).
    ...serverOptions(config),
    schemaErrorFormatter: formatSchemaErrors,
    // Ids in URLs are UUIDs and paths are short; refuse absurd ones early.
    routerOptions: { maxParamLength: 100 },
    // No type coercion: `"content": 42` is a client bug to report, not a string to store.
    ajv: { customOptions: { coerceTypes: false } },
  });

  // The settings as app.config, and the protocol events (app.events) side concerns subscribe to.
  await app.register(configPlugin, { config });
  await app.register(events);
  // External plugins. First: request ids, /metrics and shutdown draining, whose hooks must see every request.
  await app.register(observability);
  await app.register(jsonErrors);
  // Workshop mode (off by default): request.trace for every request, GET /workshop/traces/:traceId, and the
  // steps of the Bearer check.
  await app.register(workshop);

  // Every API answer concerns one user's private data or their token: never cache it (RFC 6750 §5.3,
  // RFC 9111 §5.2.2.5), not even the images.
  noStoreByDefault(app);

  // Our own plugins.
  await app.register(repositories);
  await app.register(dpopReplay, { store: options.dpopReplayStore });
  await app.register(tokenVerifier, { verifier: options.verifier });
  await app.register(tokenMetrics);
  await app.register(uploadSlots);

  // Routes.
  await app.register(healthRoutes);
  await app.register(resourceMetadataRoutes);
  await app.register(photoRoutes);
  await app.register(documentRoutes);

  return app;
}
