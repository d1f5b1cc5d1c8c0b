// The wiring between Quartet's three services, written once for `npm start` (scripts/start.mjs) and the
// benchmark (bench/run.mjs): given the ports, each service's environment variables that make the three
// agree on each other's addresses.
//
// - The authorization server names itself ISSUER (RFC 8414 §2 `issuer`, the `iss` of its tokens) and
//   audiences access tokens to the resource server (RESOURCE_AUDIENCE: RFC 9068 §2.2 `aud`); it seeds the demo
//   client with the client app's callback as its one redirect URI (RFC 6749 §3.1.2) and, when given, its secret.
// - The resource server is RESOURCE_ID (the `aud` it accepts) and trusts AUTHORIZATION_SERVER (the `iss` it
//   accepts, and where it discovers the JWKS, RFC 8414 §3).
// - The client app is PUBLIC_URL (its callback is PUBLIC_URL/callback), discovers AUTHORIZATION_SERVER, calls
//   RESOURCE_SERVER, and authenticates as the demo client with CLIENT_SECRET when given.
// - Workshop mode: WORKSHOP_MODE and WORKSHOP_TRACE_SECRET (with which the client app signs the trace ids of its
//   flows, and the servers trace only those) go to all three when given.
// Nothing here picks backends (databases, Redis) or anything else a caller adds for itself.
// Plain JavaScript: scripts/start.mjs runs before anything is built, the benchmark without a TypeScript loader.

/** The ports of `npm start`, docker-compose.yml and the services' own defaults. */
export const DEFAULT_PORTS = { auth: 9000, resource: 9100, client: 3000 };

/** The client the authorization server's seed registers (services/authorization-server's demo data). */
export const DEMO_CLIENT_ID = 'demo-client';

/** Where each service is reached: `http://<host>:<port>`. */
export function serviceUrls(ports, host = 'localhost') {
  return {
    auth: `http://${host}:${ports.auth}`,
    resource: `http://${host}:${ports.resource}`,
    client: `http://${host}:${ports.client}`,
  };
}

/**
 * Each service's wiring for `ports` ({ auth, resource, client }).
 * Options: `host` of the URLs ('localhost'); `issuer`, the authorization server's ISSUER when it is not its URL
 * (the other two still reach it at its URL); `clientSecret` for the demo client at both ends (unset: each
 * service's own default, which agree); `workshopMode` ('true' / 'false') and `traceSecret`, for all three.
 * Returns { urls, redirectUri, env: { auth, resource, client } }; every value is a string.
 */
export function topology(ports, { host = 'localhost', issuer, clientSecret, workshopMode, traceSecret } = {}) {
  const urls = serviceUrls(ports, host);
  const redirectUri = `${urls.client}/callback`;
  const workshop = {
    ...(workshopMode !== undefined ? { WORKSHOP_MODE: workshopMode } : {}),
    ...(traceSecret !== undefined ? { WORKSHOP_TRACE_SECRET: traceSecret } : {}),
  };
  return {
    urls,
    redirectUri,
    env: {
      auth: {
        ...workshop,
        PORT: String(ports.auth),
        ISSUER: issuer ?? urls.auth,
        RESOURCE_AUDIENCE: urls.resource,
        DEMO_CLIENT_REDIRECT_URI: redirectUri,
        ...(clientSecret !== undefined ? { DEMO_CLIENT_SECRET: clientSecret } : {}),
      },
      resource: {
        ...workshop,
        PORT: String(ports.resource),
        RESOURCE_ID: urls.resource,
        AUTHORIZATION_SERVER: urls.auth,
      },
      client: {
        ...workshop,
        PORT: String(ports.client),
        PUBLIC_URL: urls.client,
        AUTHORIZATION_SERVER: urls.auth,
        RESOURCE_SERVER: urls.resource,
        ...(clientSecret !== undefined ? { CLIENT_SECRET: clientSecret } : {}),
      },
    },
  };
}
