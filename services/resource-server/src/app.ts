// Builds the resource server: external plugins, then our own (storage, token verification), then routes.
// RFC 6750 (Bearer usage), RFC 9068 (JWT access tokens), RFC 8414 (AS metadata) are implemented in
// plugins/token-verifier.ts and lib/access-token-verifier.ts, RFC 9728 (protected resource metadata) in
// lib/resource-metadata.ts and routes/resource-metadata.ts; this file only wires them together.
import Fastify, { type FastifyInstance, type FastifySchemaValidationError, type FastifyServerOptions } from 'fastify';
import {
  jsonErrors,
  loggerOptions,
  noStoreByDefault,
  observability,
  serverOptions,
  workshopTrace,
} from '@quartet/common';
import type { Config } from './config.js';
import { AccessTokenVerifier, type AccessTokenVerifierOptions } from './lib/access-token-verifier.js';
import { observeKeyFetches } from './lib/key-fetch-observer.js';
import { resourceMetadataUrl } from './lib/resource-metadata.js';
import repositories from './plugins/repositories.js';
import tokenVerifier from './plugins/token-verifier.js';
import uploadSlots from './plugins/upload-slots.js';
import documentRoutes from './routes/documents.js';
import healthRoutes from './routes/health.js';
import photoRoutes from './routes/photos.js';
import resourceMetadataRoutes from './routes/resource-metadata.js';

export interface BuildOptions {
  /** Fastify logger setting; defaults to the shared JSON logger with redaction. */
  logger?: FastifyServerOptions['logger'];
  /**
   * Overrides for the token verifier (cache durations, a custom fetch) or a ready verifier. Tests mostly
   * point AUTHORIZATION_SERVER at a real local HTTP server instead and only shorten the cooldown.
   */
  verifier?: Partial<AccessTokenVerifierOptions> | AccessTokenVerifier;
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
    logger: options.logger ?? loggerOptions('resource-server', config.logLevel),
    // Request ids (x-request-id or traceparent of the caller, else a fresh one; logged as reqId on every
    // line) and requests still arriving during a graceful shutdown served (see @quartet/common observability).
    ...serverOptions(config.server),
    schemaErrorFormatter: formatSchemaErrors,
    // Ids in URLs are UUIDs and paths are short; refuse absurd ones early.
    routerOptions: { maxParamLength: 100 },
    // No type coercion: `"content": 42` is a client bug to report, not a string to store.
    ajv: { customOptions: { coerceTypes: false } },
  });

  // External plugins. First: request ids, /metrics and shutdown draining, whose hooks must see every request.
  await app.register(observability);
  await app.register(jsonErrors);
  // Workshop mode (off by default): request.trace for every request, and GET /workshop/traces/:traceId.
  await app.register(workshopTrace, {
    enabled: config.workshopMode,
    secret: config.workshopTraceSecret,
    service: 'resource-server',
    role: 'resource server',
  });

  // Every API answer concerns one user's private data or their token: never cache it (RFC 6750 §5.3,
  // RFC 9111 §5.2.2.5), not even the images.
  noStoreByDefault(app);

  // Our own plugins.
  await app.register(repositories, {
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    autoMigrate: config.autoMigrate,
    seedDemoData: config.seedDemoData,
  });
  const verifier =
    options.verifier instanceof AccessTokenVerifier
      ? options.verifier
      : new AccessTokenVerifier({
          issuer: config.authorizationServer,
          audience: config.resourceId,
          clockTolerance: config.clockTolerance,
          requireHttps: config.production,
          cacheMaxAge: config.jwks.cacheMaxAge * 1000,
          maxStale: config.jwks.maxStale * 1000,
          cooldownDuration: config.jwks.cooldown * 1000,
          timeoutDuration: Math.round(config.jwks.fetchTimeout * 1000),
          // Outages of the key source and their end, once each (never a token: the verifier logs URLs and errors).
          log: app.log,
          ...options.verifier,
          // Workshop mode: lets a trace tell a cached-key verification from one that called the AS.
          ...(config.workshopMode ? { fetch: observeKeyFetches(options.verifier?.fetch) } : {}),
        });
  await app.register(tokenVerifier, { verifier, resourceMetadataUrl: resourceMetadataUrl(config.resourceId) });
  await app.register(uploadSlots, { maxConcurrentUploads: config.maxConcurrentUploads });

  // Routes.
  await app.register(healthRoutes);
  await app.register(resourceMetadataRoutes, {
    resourceId: config.resourceId,
    authorizationServer: config.authorizationServer,
  });
  await app.register(photoRoutes, { quota: config.photoQuota });
  await app.register(documentRoutes);

  return app;
}
