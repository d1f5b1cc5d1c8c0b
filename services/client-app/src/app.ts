// Builds the client app: external plugins, then our own (session store, OAuth client, resource API, error
// pages), then routes. Tests import this; src/server.ts only adds config loading, listen and shutdown.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import view from '@fastify/view';
import nunjucks from 'nunjucks';
import {
  RedisKeyValueStore,
  isProduction,
  loggerOptions,
  noStoreByDefault,
  observability,
  serverOptions,
  type KeyValueStore,
} from '@quartet/common';
import type { Config } from './config.js';
import { PUBLIC_DIR as publicDir, VIEWS_DIR as viewsDir } from './paths.js';
import configPlugin from './plugins/config.js';
import eventsPlugin from './plugins/events.js';
import workshopRecorderPlugin from './plugins/workshop-recorder.js';
import sessionPlugin from './plugins/session.js';
import oauthClientPlugin from './plugins/oauth-client.js';
import resourceApiPlugin from './plugins/resource-api.js';
import connectionPlugin from './plugins/connection.js';
import htmlErrorsPlugin from './plugins/html-errors.js';
import healthRoutes from './routes/health.js';
import homeRoutes from './routes/home.js';
import oauthRoutes from './routes/oauth.js';
import photoRoutes from './routes/photos.js';
import documentRoutes from './routes/documents.js';
import logoutRoutes from './routes/logout.js';
import inspectorPlugin from './plugins/inspector.js';
import workshopRoutes from './routes/workshop.js';

/** The cookie holding the CSRF secret (@fastify/csrf-protection). */
export const CSRF_COOKIE = 'quartet_client_csrf';

export interface BuildOptions {
  /** Logger options; defaults to the shared redacting JSON logger. Tests pass false. */
  logger?: FastifyServerOptions['logger'];
  /** A key-value store to use instead of the one REDIS_URL selects (Redis, or in-process when unset); its owner closes it. */
  store?: KeyValueStore;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const production = isProduction(config.PUBLIC_URL);
  const app = Fastify({
    logger: options.logger ?? loggerOptions('client-app', config.LOG_LEVEL),
    // Request ids (x-request-id or traceparent of the caller, else a fresh one; logged as reqId on every line,
    // sent on to the AS and RS), trusted proxies and slow-client timeouts, and requests still arriving during
    // a graceful shutdown served, one plugin timeout (see @quartet/common observability and server-settings).
    ...serverOptions(config),
    // Forms are tiny (a CSRF token); nothing legitimate comes close to this.
    bodyLimit: 16 * 1024,
  });

  // --- external plugins ---
  // First: request ids, /metrics and shutdown draining, whose hooks must see every request. This service
  // calls the AS and the RS for the user, so each request's id is made current to be sent on.
  await app.register(observability, { propagateRequestIds: true });
  await app.register(configPlugin, { config });
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'"],
        styleSrc: ["'self'"],
        // No scripts at all, except in workshop mode: the inspector's countdown is one local file (no inline, no CDN).
        scriptSrc: config.WORKSHOP_MODE ? ["'self'"] : ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        // Upgrading would break plain-http development on localhost; in production everything is https anyway.
        upgradeInsecureRequests: production ? [] : null,
      },
    },
    // HSTS only means something over https; sending it from http://localhost would only confuse browsers.
    hsts: production,
    // Keeps the code and state of /callback out of Referer headers (RFC 9700 §4.2.4).
    referrerPolicy: { policy: 'no-referrer' },
  });
  await app.register(cookie);
  // CSRF (POST /logout, POST /workshop/lab/run): double submit of a random secret kept in an HttpOnly cookie;
  // forms carry a token derived from it (as the authorization server does). SameSite=Lax, like the session
  // cookie: a page reached through the authorization server's redirect must still see the secret, or it
  // would mint a new one and invalidate the forms of the user's other tabs.
  await app.register(csrf, {
    cookieKey: CSRF_COOKIE,
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'lax', secure: production },
  });
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  await app.register(fastifyStatic, { root: publicDir, prefix: '/static/', maxAge: '1h' });
  await app.register(view, {
    engine: { nunjucks },
    root: viewsDir,
    // Autoescaping: titles and document contents come from the resource server and are untrusted.
    options: { autoescape: true, throwOnUndefined: false },
    // Every page's navigation offers the inspector and the lab in workshop mode.
    defaultContext: { workshop: config.WORKSHOP_MODE },
  });

  // Pages carry user data; nothing may be stored by the browser or a shared cache unless a route says so.
  noStoreByDefault(app);

  // --- our plugins ---
  // The protocol layer's events (oauth/events.ts); in workshop mode the inspector records them.
  await app.register(eventsPlugin);
  await app.register(sessionPlugin, options.store ? { store: options.store } : {});
  // Per-address request limits (routes opt in with config.rateLimit), counted in Redis when there is one,
  // and skipped while it is down (the flows they protect cannot be stored then either).
  await app.register(rateLimit, {
    global: false,
    skipOnError: true,
    ...(app.kv instanceof RedisKeyValueStore ? { redis: app.kv.client, nameSpace: 'rate-limit:' } : {}),
  });
  await app.register(oauthClientPlugin);
  await app.register(resourceApiPlugin);
  await app.register(inspectorPlugin);
  if (config.WORKSHOP_MODE) await app.register(workshopRecorderPlugin);
  await app.register(connectionPlugin);
  await app.register(htmlErrorsPlugin);

  // --- routes ---
  await app.register(healthRoutes);
  await app.register(homeRoutes);
  await app.register(oauthRoutes);
  await app.register(photoRoutes);
  await app.register(documentRoutes);
  await app.register(logoutRoutes);
  // Without WORKSHOP_MODE these routes do not exist (404).
  if (config.WORKSHOP_MODE) await app.register(workshopRoutes);

  return app;
}
