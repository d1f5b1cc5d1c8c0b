// Settings every service's HTTP server shares: which peers are trusted proxies, and how long a client may take.
//
// - TRUST_PROXY: by default only the TCP peer's address counts (request.ip), and X-Forwarded-For is ignored, so
//   a client cannot pick the address its throttling counters are kept under. Naming the proxies (addresses or
//   CIDR ranges, or proxy-addr's presets loopback / linklocal / uniquelocal) makes Fastify take the address
//   from X-Forwarded-For, skipping only those proxies.
// - REQUEST_TIMEOUT, HEADERS_TIMEOUT, KEEP_ALIVE_TIMEOUT (seconds): a request whose headers or body dribble in
//   (slowloris, OWASP "slow HTTP") is cut off, and an idle keep-alive connection is closed, instead of holding
//   a socket and its buffers for minutes. Node checks the first two every CONNECTIONS_CHECK_MS.
import { isIP } from 'node:net';
import { Type } from '@sinclair/typebox';
import type { ServerOptions } from 'node:http';
import type { FastifyServerOptions } from 'fastify';
import { ConfigError } from './config.js';

/** The env schema fragment; each service spreads it into its own ConfigSchema. */
export const ServerSettingsSchema = {
  /** Trusted reverse proxies: comma-separated addresses, CIDR ranges or loopback/linklocal/uniquelocal; empty: none. */
  TRUST_PROXY: Type.String({ default: '' }),
  /** Seconds a client has to send a whole request, headers and body. */
  REQUEST_TIMEOUT: Type.Integer({ default: 30, minimum: 1, maximum: 3600 }),
  /** Seconds a client has to send the request headers. */
  HEADERS_TIMEOUT: Type.Integer({ default: 10, minimum: 1, maximum: 3600 }),
  /** Seconds an idle keep-alive connection stays open. */
  KEEP_ALIVE_TIMEOUT: Type.Integer({ default: 5, minimum: 1, maximum: 3600 }),
};

export interface ServerSettings {
  TRUST_PROXY: string;
  REQUEST_TIMEOUT: number;
  HEADERS_TIMEOUT: number;
  KEEP_ALIVE_TIMEOUT: number;
}

export const DEFAULT_SERVER_SETTINGS: ServerSettings = {
  TRUST_PROXY: '',
  REQUEST_TIMEOUT: 30,
  HEADERS_TIMEOUT: 10,
  KEEP_ALIVE_TIMEOUT: 5,
};

/** How often Node looks for requests past their headers or request timeout (its default is 30 s). */
const CONNECTIONS_CHECK_MS = 1000;
const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrRange(entry: string): boolean {
  if (PROXY_PRESETS.has(entry)) return true;
  const [address, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** TRUST_PROXY as a list (empty: trust no proxy); throws ConfigError naming the variable for a bad entry. */
export function trustedProxies(value: string): string[] {
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const entry of entries) {
    if (!isAddressOrRange(entry)) {
      throw new ConfigError(
        `Invalid configuration: TRUST_PROXY must list proxy addresses, CIDR ranges or loopback/linklocal/uniquelocal (got "${entry}")`,
      );
    }
  }
  return entries;
}

/** Checks the settings that a schema cannot (proxy list syntax, headers within the request timeout). */
export function checkServerSettings(settings: ServerSettings): void {
  trustedProxies(settings.TRUST_PROXY);
  if (settings.HEADERS_TIMEOUT > settings.REQUEST_TIMEOUT) {
    throw new ConfigError('Invalid configuration: HEADERS_TIMEOUT must not be longer than REQUEST_TIMEOUT');
  }
}

/** The Fastify (and Node http.Server) options these settings stand for. */
export function serverTimeoutOptions(
  settings: ServerSettings = DEFAULT_SERVER_SETTINGS,
): Pick<FastifyServerOptions, 'trustProxy' | 'requestTimeout' | 'keepAliveTimeout'> & { http: ServerOptions } {
  const proxies = trustedProxies(settings.TRUST_PROXY);
  return {
    trustProxy: proxies.length > 0 ? proxies : false,
    requestTimeout: settings.REQUEST_TIMEOUT * 1000,
    keepAliveTimeout: settings.KEEP_ALIVE_TIMEOUT * 1000,
    http: { headersTimeout: settings.HEADERS_TIMEOUT * 1000, connectionsCheckingInterval: CONNECTIONS_CHECK_MS },
  };
}

/**
 * The key a client address counts under in per-address limits and throttles: IPv4 as it is (an IPv4-mapped
 * IPv6 address as its IPv4 form), IPv6 by its first 64 bits, since one subscriber usually holds a whole /64
 * (RFC 6177) and could otherwise take a fresh address for every request.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Route config for @fastify/rate-limit: at most `perMinute` requests a minute per client address (addressKey),
 * answered beyond that with the error `refusal` makes for the seconds until the next window; 0 means no limit.
 */
export interface PerAddressRateLimit {
  rateLimit?: {
    max: number;
    timeWindow: number;
    keyGenerator: (request: { ip: string }) => string;
    errorResponseBuilder: (request: unknown, context: { ttl: number }) => Error;
  };
}

export function perAddressRateLimit(
  perMinute: number,
  refusal: (retryAfterSeconds: number) => Error,
): PerAddressRateLimit {
  if (perMinute <= 0) return {};
  return {
    rateLimit: {
      max: perMinute,
      timeWindow: 60_000,
      keyGenerator: (request: { ip: string }) => addressKey(request.ip),
      errorResponseBuilder: (_request: unknown, context: { ttl: number }) =>
        refusal(Math.max(1, Math.ceil(context.ttl / 1000))),
    },
  };
}
