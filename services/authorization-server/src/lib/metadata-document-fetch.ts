// Fetching a client ID metadata document (draft-ietf-oauth-client-id-metadata-document, Security
// Considerations: server-side request forgery). Anyone can name any URL as a client_id, so this server must not
// become a way to reach what only it can reach: only https (http only to a loopback address, and only when the
// caller allows it — a development issuer), no private, loopback, link-local, unique-local, CGNAT, multicast or
// reserved address, checked on the addresses the connection actually uses (the socket's own DNS lookup is
// replaced, so a name that resolves to a public address when checked and a private one when connecting — DNS
// rebinding — cannot slip through), no redirects, a 5 KB body read as a stream and cut off, 5 s in all.
//
// Written on node:http/https rather than fetch or a library: they never follow redirects, take a `lookup` used
// at connect time, and let the body be counted as it arrives; no HTTP client library offers all three in a
// smaller piece of code than this.
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';

/** The draft's recommended limit on a document's size. */
export const MAX_DOCUMENT_BYTES = 5 * 1024;
export const FETCH_TIMEOUT_MS = 5000;

/** Why a document could not be fetched, in words for the developer of the client (shown on the error page). */
export class MetadataDocumentFetchError extends Error {
  constructor(readonly problem: string) {
    super(problem);
    this.name = 'MetadataDocumentFetchError';
  }
}

// Special-purpose ranges (IANA IPv4/IPv6 Special-Purpose Address Registries, RFC 6890) that a request from
// this server must never reach: private (RFC 1918), shared/CGNAT (RFC 6598), loopback, link-local (RFC 3927,
// RFC 4291), unique-local (RFC 4193), multicast, documentation, benchmarking, reserved, and the IPv6 transition
// prefixes that embed an IPv4 address (6to4, Teredo), since they could lead to an internal IPv4 one.
const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  BLOCKED.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible addresses
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments, Teredo included
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  BLOCKED.addSubnet(network, prefix, 'ipv6');

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** The 16 bytes of an IPv6 address (any textual form, an embedded dotted quad included). */
function ipv6Bytes(address: string): number[] {
  let text = address.toLowerCase().split('%')[0]!;
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const groups = (part: string) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const words = [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/**
 * The IPv4 address an IPv6 one stands for when it is IPv4-mapped (::ffff:0:0/96, RFC 4291 §2.5.5.2) or NAT64
 * (64:ff9b::/96, RFC 6052), else null: those reach the IPv4 address, so it is the one to check.
 */
function embeddedIpv4(address: string): string | null {
  const bytes = ipv6Bytes(address);
  const prefix = bytes.slice(0, 12);
  const mapped = prefix.slice(0, 10).every((b) => b === 0) && prefix[10] === 0xff && prefix[11] === 0xff;
  const nat64 = [0x00, 0x64, 0xff, 0x9b].every((b, i) => bytes[i] === b) && prefix.slice(4).every((b) => b === 0);
  return mapped || nat64 ? bytes.slice(12).join('.') : null;
}

/**
 * Why a connection to `address` is refused, or null when it may be made. `loopbackOnly`: the document is at a
 * loopback http URL (development), so a loopback address is the only one allowed.
 */
export function addressProblem(address: string, loopbackOnly = false): string | null {
  const family = isIP(address);
  if (family === 0) return `"${address}" is not an IP address`;
  const v4 = family === 6 ? embeddedIpv4(address) : address;
  const [checked, type] = v4 ? [v4, 'ipv4' as const] : [address, 'ipv6' as const];
  if (loopbackOnly) return LOOPBACK.check(checked, type) ? null : `the address ${address} is not a loopback address`;
  return BLOCKED.check(checked, type)
    ? `the address ${address} is private, loopback, link-local or reserved, and not fetched`
    : null;
}

/** Resolves a host name to every address (dns.lookup by default; tests pass their own, so they need no DNS). */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>;

const systemResolve: ResolveHost = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A socket `lookup` that resolves with `resolve` and refuses the connection unless every address is allowed
 * (one refused address refuses the name: the socket could pick any of them).
 */
function guardedLookup(resolve: ResolveHost, loopbackOnly: boolean) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback) => {
    resolve(hostname).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = addresses.filter((a) => wanted === 0 || a.family === wanted);
        const problem =
          usable.length === 0
            ? `${hostname} has no address`
            : usable.map((a) => addressProblem(a.address, loopbackOnly)).find((p) => p !== null);
        if (problem) return callback(new MetadataDocumentFetchError(problem), '');
        if (options.all) return callback(null, usable);
        callback(null, usable[0]!.address, usable[0]!.family);
      },
      () => callback(new MetadataDocumentFetchError(`the host ${hostname} could not be resolved`), ''),
    );
  };
}

export interface FetchPolicy {
  /** Accept an http URL on a loopback host (a development issuer). */
  allowLoopbackHttp: boolean;
  resolve?: ResolveHost;
  maxBytes?: number;
  timeoutMs?: number;
}

export interface FetchedDocument {
  /** The parsed JSON. */
  body: unknown;
  /** The response's Cache-Control header, for the caller's cache (see cacheLifetimeSeconds). */
  cacheControl: string | undefined;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The response's media type is JSON: application/json or application/<something>+json (as the draft allows). */
function isJson(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
}

/** Fetches and parses the JSON document at `url`, within the guard above; throws MetadataDocumentFetchError. */
export function fetchMetadataDocument(url: string, policy: FetchPolicy): Promise<FetchedDocument> {
  const target = new URL(url);
  const loopbackHttp = target.protocol === 'http:' && policy.allowLoopbackHttp && LOOPBACK_NAMES.has(target.hostname);
  if (target.protocol !== 'https:' && !loopbackHttp)
    return Promise.reject(new MetadataDocumentFetchError('the document must be served over https'));
  // An address literal skips the socket's lookup, so it is checked here.
  const literal = target.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(literal)) {
    const problem = addressProblem(literal, loopbackHttp);
    if (problem) return Promise.reject(new MetadataDocumentFetchError(problem));
  }
  const maxBytes = policy.maxBytes ?? MAX_DOCUMENT_BYTES;
  const timeoutMs = policy.timeoutMs ?? FETCH_TIMEOUT_MS;
  const client = target.protocol === 'https:' ? https : http;

  return new Promise<FetchedDocument>((resolve, reject) => {
    let settled = false;
    const fail = (problem: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(new MetadataDocumentFetchError(problem));
    };
    // One deadline for everything: resolving, connecting, TLS, waiting and reading.
    const timer = setTimeout(() => fail(`the document did not arrive within ${timeoutMs / 1000} s`), timeoutMs);
    const request = client.request(target, {
      method: 'GET',
      headers: { accept: 'application/json' },
      // A fresh connection each time (no pooling), so the guarded lookup runs for every fetch.
      agent: false,
      lookup: guardedLookup(policy.resolve ?? systemResolve, loopbackHttp) as never,
    });
    request.on('error', (err) =>
      fail(
        err instanceof MetadataDocumentFetchError ? err.problem : `the document could not be fetched (${err.message})`,
      ),
    );
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400)
        return fail(`the document URL answered a redirect (${status}), which is not followed`);
      if (status !== 200) return fail(`the document URL answered HTTP ${status} (200 expected)`);
      if (!isJson(response.headers['content-type'])) return fail('the document is not served as application/json');
      const declared = Number(response.headers['content-length'] ?? 0);
      if (declared > maxBytes) return fail(`the document is larger than ${maxBytes} bytes`);
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) return fail(`the document is larger than ${maxBytes} bytes`);
        chunks.push(chunk);
      });
      response.on('error', () => fail('the document could not be read'));
      response.on('end', () => {
        if (settled) return;
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return fail('the document is not valid JSON');
        }
        settled = true;
        clearTimeout(timer);
        resolve({ body, cacheControl: response.headers['cache-control'] });
      });
    });
    request.end();
  });
}

/** Bounds on how long a fetched document is reused (see cacheLifetimeSeconds). */
export interface CacheBounds {
  floor: number;
  ceiling: number;
  /** Without any freshness information. */
  fallback: number;
}

/**
 * How long a document may be reused, in seconds (RFC 9111 §5.2.2): max-age (s-maxage does not apply: this is a
 * private cache), no-store/no-cache as 0 — all clamped to [floor, ceiling]. The floor keeps one sign-in
 * (authorize, login, consent, token: a few seconds) from fetching again at every step and bounds how often a
 * client id can make this server fetch; the ceiling makes a changed or withdrawn document take effect.
 */
export function cacheLifetimeSeconds(cacheControl: string | undefined, bounds: CacheBounds): number {
  const directives = (cacheControl ?? '')
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  let seconds = bounds.fallback;
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) seconds = 0;
  else {
    const maxAge = directives.map((d) => /^max-age=(\d+)$/.exec(d)).find((m) => m !== null);
    if (maxAge) seconds = Number(maxAge[1]);
  }
  return Math.min(Math.max(seconds, bounds.floor), bounds.ceiling);
}
