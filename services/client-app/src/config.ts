// Client app configuration: an env schema checked at start (a bad value stops the process with a message
// naming the variable), plus the production rules of RFC 9700 §2 / OAuth 2.1 §1.5: when the app is reached
// over https it must talk to the authorization and resource servers over https too, and must not keep the
// demo client secret that is published in this repository.
import { Type, type Static } from '@sinclair/typebox';
import {
  ConfigError,
  ServerSettingsSchema,
  checkServerSettings,
  checkUrl,
  loadConfig,
  normaliseEnv,
  refuseDevelopmentSettings,
  withoutTrailingSlash,
  workshopTraceSecret,
} from '@quartet/common';
import { readClientPrivateKey } from './oauth/client-key.js';

const HttpUrl = (defaultValue: string) => Type.String({ pattern: '^https?://[^\\s]+$', default: defaultValue });

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  PUBLIC_URL: HttpUrl('http://localhost:3000'),
  AUTHORIZATION_SERVER: HttpUrl('http://localhost:9000'),
  RESOURCE_SERVER: HttpUrl('http://localhost:9100'),
  CLIENT_ID: Type.String({ minLength: 1, default: 'demo-client' }),
  CLIENT_SECRET: Type.String({ minLength: 1, default: 'demo-client-secret' }),
  // private_key_jwt (RFC 7523) instead of the secret: the client's private JWK, whose public half is registered
  // with the client (src/oauth/client-key.ts). Unset: client_secret_basic with CLIENT_SECRET.
  CLIENT_PRIVATE_KEY: Type.Optional(Type.String({ minLength: 1 })),
  SCOPES: Type.String({
    pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+( [\\x21\\x23-\\x5B\\x5D-\\x7E]+)*$',
    default: 'photos:read documents:read',
  }),
  // No default on purpose: unset means the in-process session store (single instance, nothing to install).
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_PREFIX: Type.String({ default: 'quartet:client:' }),
  SESSION_TTL: Type.Integer({ minimum: 60, maximum: 30 * 24 * 3600, default: 3600 }),
  // Caps on what anyone can make the app keep: sessions (one per visiting browser) and flows in progress;
  // beyond them new ones answer 503 + Retry-After instead of growing the store.
  MAX_SESSIONS: Type.Integer({ minimum: 1, default: 100000 }),
  MAX_PENDING_AUTHORIZATIONS: Type.Integer({ minimum: 1, default: 10000 }),
  // GET /connect requests per client address and minute (each starts a flow that is kept); 0 turns it off.
  RATE_LIMIT_CONNECT: Type.Integer({ minimum: 0, default: 300 }),
  // Pushed authorization requests (RFC 9126) and DPoP-bound tokens (RFC 9449). Off by default: both need
  // an authorization server (and, for DPoP, a resource server) that supports them, and an app that silently
  // started pushing or proving would break against one that does not; an AS that requires them (its
  // REQUIRE_PUSHED_AUTHORIZATION_REQUESTS, DPOP_REQUIRED, or the FAPI 2.0 profile) is met by turning them on.
  USE_PAR: Type.Boolean({ default: false }),
  USE_DPOP: Type.Boolean({ default: false }),
  // Workshop mode: the flow inspector and the "break it, fix it" lab exist only when this is true.
  WORKSHOP_MODE: Type.Boolean({ default: false }),
  // Workshop mode: the key trace ids are signed with, the same in all three services (see @quartet/common
  // workshop-trace): the servers only record flows this app started.
  WORKSHOP_TRACE_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  // The lab plays these users' browsers at the authorization server (workshop mode only): the victim, and the
  // attacker whose code it injects in the CSRF / code-injection switches. Demo users of the seeded AS.
  LAB_USERNAME: Type.String({ minLength: 1, default: 'alice' }),
  LAB_PASSWORD: Type.String({ minLength: 1, default: 'wonderland' }),
  LAB_ATTACKER_USERNAME: Type.String({ minLength: 1, default: 'bob' }),
  LAB_ATTACKER_PASSWORD: Type.String({ minLength: 1, default: 'builder' }),
  // A second resource the AS knows (its RESOURCES setting): a token for it must be refused by our resource server.
  LAB_OTHER_RESOURCE: HttpUrl('http://localhost:9200'),
  // The resource server's CLOCK_TOLERANCE: the "expired token" switch waits until exp + this before using a token.
  LAB_RS_CLOCK_TOLERANCE: Type.Integer({ minimum: 0, maximum: 300, default: 5 }),
  // The longest the "expired token" switch waits for a lab token to expire (seconds); beyond it, it says so.
  LAB_MAX_WAIT: Type.Integer({ minimum: 0, maximum: 600, default: 30 }),
  // The public client the device switches play (RFC 8628): the AS's seeded `workshop-device`.
  LAB_DEVICE_CLIENT_ID: Type.String({ minLength: 1, default: 'workshop-device' }),
  ...ServerSettingsSchema,
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
});

export type Config = Static<typeof ConfigSchema>;

export const DEV_CLIENT_SECRET = 'demo-client-secret';
/** The lab's demo users (the seeded alice and bob of the authorization server). */
export const DEV_LAB_PASSWORDS = { LAB_PASSWORD: 'wonderland', LAB_ATTACKER_PASSWORD: 'builder' } as const;

/**
 * A server URL setting: absolute, http or https, no query or fragment (it is compared and concatenated as is),
 * and without a trailing slash, which would give "http://host//callback" as redirect URI, and that must match
 * the registered one exactly (RFC 6749 §3.1.2).
 */
function serverUrl(name: keyof Config, value: string): string {
  checkUrl(name, value, { identifier: true });
  return withoutTrailingSlash(value);
}

/** Reads and checks the configuration; throws ConfigError naming the offending variable. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // WORKSHOP_MODE: true/false/1/0, any case, empty = the default; `REDIS_URL=` (set but empty, as a .env
  // template or `REDIS_URL= npm start` leaves it) means "no Redis", not a malformed URL.
  const config = loadConfig(
    ConfigSchema,
    normaliseEnv(env, {
      flags: ['WORKSHOP_MODE', 'USE_PAR', 'USE_DPOP'],
      optional: ['REDIS_URL', 'CLIENT_PRIVATE_KEY'],
    }),
  );
  config.PUBLIC_URL = serverUrl('PUBLIC_URL', config.PUBLIC_URL);
  config.AUTHORIZATION_SERVER = serverUrl('AUTHORIZATION_SERVER', config.AUTHORIZATION_SERVER);
  config.RESOURCE_SERVER = serverUrl('RESOURCE_SERVER', config.RESOURCE_SERVER);
  config.LAB_OTHER_RESOURCE = serverUrl('LAB_OTHER_RESOURCE', config.LAB_OTHER_RESOURCE);
  if (!config.SCOPES.split(' ').includes('photos:read')) {
    // The app's whole purpose is showing photos; without this scope every page would fail with 403.
    throw new ConfigError('Invalid configuration: SCOPES must include photos:read.');
  }
  if (config.CLIENT_PRIVATE_KEY !== undefined) readClientPrivateKey(config.CLIENT_PRIVATE_KEY);
  checkServerSettings(config);
  workshopTraceSecret(config.WORKSHOP_MODE, config.WORKSHOP_TRACE_SECRET);
  // Tokens and the client secret travel to these servers: plain http would expose them (RFC 9700 §2.6,
  // OAuth 2.1 §1.5); the demo secret is published in this repository; the lab logs in as demo users.
  refuseDevelopmentSettings('PUBLIC_URL', config.PUBLIC_URL, {
    secrets: {
      // With a private key the secret is never sent, so its published default does no harm.
      ...(config.CLIENT_PRIVATE_KEY === undefined
        ? { CLIENT_SECRET: { value: config.CLIENT_SECRET, devDefault: DEV_CLIENT_SECRET } }
        : {}),
      ...(config.WORKSHOP_MODE
        ? {
            LAB_PASSWORD: { value: config.LAB_PASSWORD, devDefault: DEV_LAB_PASSWORDS.LAB_PASSWORD },
            LAB_ATTACKER_PASSWORD: {
              value: config.LAB_ATTACKER_PASSWORD,
              devDefault: DEV_LAB_PASSWORDS.LAB_ATTACKER_PASSWORD,
            },
          }
        : {}),
    },
    switches: { WORKSHOP_MODE: config.WORKSHOP_MODE },
    httpsUrls: {
      AUTHORIZATION_SERVER: config.AUTHORIZATION_SERVER,
      RESOURCE_SERVER: config.RESOURCE_SERVER,
      ...(config.WORKSHOP_MODE ? { LAB_OTHER_RESOURCE: config.LAB_OTHER_RESOURCE } : {}),
    },
  });
  return config;
}

/** The redirect URI registered for this client at the authorization server (RFC 6749 §3.1.2). */
export function redirectUri(config: Config): string {
  return `${config.PUBLIC_URL}/callback`;
}
