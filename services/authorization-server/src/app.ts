// Builds the authorization server: external plugins, then our own plugins (protocol events and their
// subscribers, stores, key manager), then routes. Tests import buildApp; src/server.ts only listens.
import Fastify, { type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import csrf from '@fastify/csrf-protection';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  RedisKeyValueStore,
  isProduction,
  jsonErrors,
  loggerOptions,
  observability,
  serverOptions,
  workshopTrace,
  type KeyValueStore,
} from '@quartet/common';
import { keyRotationProblem, type Config } from './config.js';
import configPlugin from './plugins/config.js';
import securityHeaders from './plugins/security-headers.js';
import pages from './plugins/pages.js';
import prisma from './plugins/prisma.js';
import repositories from './plugins/repositories.js';
import kvStore from './plugins/kv-store.js';
import throttle from './plugins/throttle.js';
import clientAssertions from './plugins/client-assertions.js';
import codeStore from './plugins/code-store.js';
import deviceCodes from './plugins/device-codes.js';
import authorizationRequests from './plugins/authorization-requests.js';
import pushedRequests from './plugins/pushed-requests.js';
import loginSessions from './plugins/login-sessions.js';
import keyManager from './plugins/key-manager.js';
import accessTokens from './plugins/access-tokens.js';
import grants from './plugins/grants.js';
import events from './plugins/events.js';
import oauthMetrics from './plugins/oauth-metrics.js';
import workshopTracing from './plugins/workshop-tracing.js';
import authorizationFlow from './plugins/authorization-flow.js';
import healthRoutes from './routes/health.js';
import metadataRoutes from './routes/metadata.js';
import authorizeRoutes from './routes/authorize.js';
import tokenRoutes from './routes/token.js';
import tokenManagementRoutes from './routes/token-management.js';
import registrationRoutes from './routes/registration.js';
import loginRoutes from './routes/login.js';
import consentRoutes from './routes/consent.js';
import connectedAppsRoutes from './routes/connected-apps.js';
import logoutRoutes from './routes/logout.js';
import deviceAuthorizationRoutes from './routes/device-authorization.js';
import deviceRoutes from './routes/device.js';
import parRoutes from './routes/par.js';

export const CSRF_COOKIE = 'quartet_as_csrf';

export interface BuildOptions {
  logger?: FastifyServerOptions['logger'];
  /** Replaces the configured key-value store (default: Redis when REDIS_URL is set, else in-process). */
  store?: KeyValueStore;
}

export async function buildApp(config: Config, options: BuildOptions = {}) {
  const app = Fastify({
    logger: options.logger ?? loggerOptions('authorization-server', config.LOG_LEVEL),
    // Request ids (x-request-id or traceparent of the caller, else a fresh one; logged as reqId on every
    // line), trusted proxies and slow-client timeouts (TRUST_PROXY, REQUEST_TIMEOUT, HEADERS_TIMEOUT,
    // KEEP_ALIVE_TIMEOUT), requests still arriving during a graceful shutdown served, one plugin timeout (see
    // @quartet/common observability and server-settings).
    ...serverOptions(config),
  }).withTypeProvider<TypeBoxTypeProvider>();

  try {
    // External plugins. First: request ids, /metrics and shutdown draining, whose hooks must see every request.
    await app.register(observability);
    await app.register(configPlugin, { config });
    await app.register(jsonErrors);
    // Workshop mode (off by default): request.trace for every request, and GET /workshop/traces/:traceId.
    await app.register(workshopTrace, {
      enabled: config.WORKSHOP_MODE,
      secret: config.WORKSHOP_TRACE_SECRET,
      service: 'authorization-server',
      role: 'authorization server',
    });
    await app.register(cookie);
    await app.register(formbody);
    await app.register(securityHeaders);
    await app.register(pages);
    // CSRF: double-submit of a random secret kept in an HttpOnly cookie; forms carry a token derived from it.
    await app.register(csrf, {
      cookieKey: CSRF_COOKIE,
      cookieOpts: { path: '/interaction', httpOnly: true, sameSite: 'strict', secure: isProduction(config.ISSUER) },
    });

    // Our plugins. First the protocol events and their subscribers (metrics, workshop tracing).
    await app.register(events);
    await app.register(oauthMetrics);
    await app.register(workshopTracing);
    await app.register(prisma);
    await app.register(repositories);
    await app.register(kvStore, { store: options.store });
    await app.register(throttle);
    await app.register(clientAssertions);
    // Per-address request limits (routes opt in with config.rateLimit), counted in Redis when there is one.
    // While Redis is down they are skipped: what they protect (the pending-request store) is down too, and
    // /authorize then answers temporarily_unavailable to the verified client rather than a bare 503 page.
    await app.register(rateLimit, {
      global: false,
      skipOnError: true,
      ...(app.kv instanceof RedisKeyValueStore ? { redis: app.kv.client, nameSpace: 'rate-limit:' } : {}),
    });
    await app.register(codeStore);
    await app.register(deviceCodes);
    await app.register(authorizationRequests);
    await app.register(pushedRequests);
    await app.register(loginSessions);
    await app.register(keyManager);
    await app.register(accessTokens);
    await app.register(grants);
    await app.register(authorizationFlow);

    // Routes: protocol (/authorize, /oauth/*) apart from interaction (/interaction/*).
    await app.register(healthRoutes);
    await app.register(metadataRoutes);
    await app.register(authorizeRoutes);
    await app.register(tokenRoutes);
    await app.register(tokenManagementRoutes);
    await app.register(registrationRoutes);
    await app.register(loginRoutes);
    await app.register(consentRoutes);
    await app.register(connectedAppsRoutes);
    await app.register(logoutRoutes);
    await app.register(deviceAuthorizationRoutes);
    await app.register(deviceRoutes);
    await app.register(parRoutes);

    await app.ready();
    const rotation = keyRotationProblem(config);
    if (rotation) app.log.warn(rotation);
  } catch (err) {
    // A failed start (e.g. PostgreSQL down, undecryptable key) must not leave connections (or PGlite) open.
    await app.close().catch(() => {});
    throw err;
  }
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
