// Registering a client (RFC 6749 §2): checks what an operator asks for and creates the client with a
// server-generated id and, for a confidential client, a 256-bit secret kept only as its SHA-256 hash.
// - Redirect URIs (RFC 6749 §3.1.2, RFC 9700 §2.1, §4.1.1): absolute, no fragment, https — or http only on
//   localhost / a loopback address (RFC 8252 §7.3, native apps) — compared by exact string match at /authorize.
// - A public client has no credentials, so it cannot use client_credentials (RFC 6749 §4.4, §2.1).
// - Refresh tokens are only issued alongside an authorization code or a device code here (RFC 6749 §4.4.3:
//   none for client_credentials), so refresh_token needs authorization_code or the device grant.
// - The device authorization grant (RFC 8628) sends no browser back to the client: it needs no redirect URI,
//   and a public client may use it (a TV or a CLI has no secret to keep).
// - A private_key_jwt client (RFC 7523 §2.2) registers public keys (a JWK Set, or the https URL of one) instead
//   of getting a secret; it is confidential (isPublicClient) and authenticates only that way.
import { randomBytes } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { checkJwks, jwksUriProblem } from './client-jwks.js';
import { isPublicClient } from '../domain/records.js';
import { generateClientSecret, hashClientSecret } from './client-secrets.js';
import { SUPPORTED_SCOPES } from './scopes.js';
import { DEVICE_CODE_GRANT } from './device-grant.js';

export const REGISTRABLE_GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  DEVICE_CODE_GRANT,
] as const;
const MAX_NAME_LENGTH = 100;
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ClientRegistrationRequest {
  name?: string;
  redirectUris?: readonly string[];
  grantTypes?: readonly string[];
  /** Scopes; an entry may hold several separated by spaces. */
  scopes?: readonly string[];
  /** A public client (RFC 6749 §2.1): no secret, authenticates with `none` and PKCE. */
  public?: boolean;
  /** RFC 9126 §6 require_pushed_authorization_requests; RFC 9449 §5.2 dpop_bound_access_tokens. */
  requirePar?: boolean;
  dpopBoundAccessTokens?: boolean;
  /** private_key_jwt (RFC 7523): the client's JWK Set (parsed JSON), or the URL it is published at. */
  jwks?: unknown;
  jwksUri?: string;
}

export interface ValidRegistration {
  name: string;
  redirectUris: string[];
  grantTypes: string[];
  scopes: string[];
  public: boolean;
  /** Present (true) only when asked for; stored as false otherwise. */
  requirePar?: true;
  dpopBoundAccessTokens?: true;
  /** A private_key_jwt client's keys: one of the two, absent for other clients. */
  jwks?: JSONWebKeySet;
  jwksUri?: string;
}

export interface RegistrationOptions {
  /** A development (http) issuer: a jwks_uri may be an http URL on a loopback host. */
  allowLoopbackHttp?: boolean;
  /** PROFILE=fapi2: only private_key_jwt clients can authenticate (FAPI 2.0 Security Profile §5.3.2.1). */
  keysOnly?: boolean;
}

/** The request cannot be registered; `problems` lists every reason, each a sentence for the operator. */
export class ClientRegistrationError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ClientRegistrationError';
  }
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);
const isLoopback = (hostname: string) =>
  LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);

/** Why `uri` cannot be a registered redirect URI, or null when it can. */
export function redirectUriProblem(uri: string): string | null {
  if (!URL.canParse(uri)) return `redirect URI "${uri}" is not an absolute URI`;
  const url = new URL(uri);
  // RFC 6749 §3.1.2: the endpoint URI MUST NOT include a fragment component (an empty "#" counts too).
  if (uri.includes('#')) return `redirect URI "${uri}" must not contain a fragment (#)`;
  if (url.username || url.password) return `redirect URI "${uri}" must not contain user credentials`;
  if (url.protocol === 'https:') return null;
  // RFC 9700 §2.1 / RFC 6749 §3.1.2.1: codes travel in the redirect, so only https protects them — except on
  // the user's own machine (RFC 8252 §7.3), where nothing crosses the network.
  if (url.protocol === 'http:')
    return isLoopback(url.hostname)
      ? null
      : `redirect URI "${uri}" must use https (http is allowed only on localhost or a loopback address)`;
  return `redirect URI "${uri}" must be an https URL (or http on localhost)`;
}

/** Checks a registration request; throws ClientRegistrationError listing every problem. */
export function validateRegistration(
  request: ClientRegistrationRequest,
  options: RegistrationOptions = {},
): ValidRegistration {
  const problems: string[] = [];
  const name = (request.name ?? '').trim();
  if (!name) problems.push('a name is required (--name)');
  // eslint-disable-next-line no-control-regex
  else if (name.length > MAX_NAME_LENGTH || /[\x00-\x1f\x7f]/.test(name))
    problems.push(`the name must be at most ${MAX_NAME_LENGTH} printable characters`);

  const redirectUris = [...new Set(request.redirectUris ?? [])];
  for (const uri of redirectUris) {
    const problem = redirectUriProblem(uri);
    if (problem) problems.push(problem);
  }

  // `device_code` is accepted for the grant's long URN name.
  const grantTypes = [...new Set((request.grantTypes ?? []).map((g) => (g === 'device_code' ? DEVICE_CODE_GRANT : g)))];
  if (grantTypes.length === 0)
    problems.push(`at least one grant type is required (--grant ${REGISTRABLE_GRANT_TYPES.join('|')})`);
  for (const grant of grantTypes) {
    if (!(REGISTRABLE_GRANT_TYPES as readonly string[]).includes(grant)) {
      problems.push(`unknown grant type "${grant}" (known: ${REGISTRABLE_GRANT_TYPES.join(', ')})`);
    }
  }
  const isPublic = request.public ?? false;
  if (isPublic && grantTypes.includes('client_credentials')) {
    problems.push('a public client cannot use client_credentials: it has no secret to authenticate with');
  }
  // private_key_jwt: keys instead of a secret, from one source (RFC 7591 §2: jwks and jwks_uri never both).
  const keys: { jwks?: JSONWebKeySet; jwksUri?: string } = {};
  if (request.jwks !== undefined && request.jwksUri !== undefined)
    problems.push('give the keys once: --jwks-file or --jwks-uri, not both');
  else if ((request.jwks !== undefined || request.jwksUri !== undefined) && isPublic)
    problems.push('a public client has no credentials: --public cannot go with --jwks-file or --jwks-uri');
  else if (request.jwksUri !== undefined) {
    const problem = jwksUriProblem(request.jwksUri, options.allowLoopbackHttp ?? false);
    if (problem) problems.push(problem);
    else keys.jwksUri = request.jwksUri;
  } else if (request.jwks !== undefined) {
    const checked = checkJwks(request.jwks, 'registered');
    if (checked.problem !== undefined) problems.push(checked.problem);
    else keys.jwks = checked.jwks;
  }
  if (options.keysOnly && request.jwks === undefined && request.jwksUri === undefined)
    problems.push(
      'this server runs PROFILE=fapi2, where clients authenticate with private_key_jwt only: give --jwks-file or --jwks-uri',
    );
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
    problems.push('authorization_code needs at least one redirect URI (--redirect-uri)');
  }
  if (!grantTypes.includes('authorization_code') && redirectUris.length > 0) {
    problems.push(
      'redirect URIs are only used by authorization_code: add --grant authorization_code or drop --redirect-uri',
    );
  }
  if (
    grantTypes.includes('refresh_token') &&
    !grantTypes.includes('authorization_code') &&
    !grantTypes.includes(DEVICE_CODE_GRANT)
  ) {
    problems.push(
      `refresh_token needs authorization_code or ${DEVICE_CODE_GRANT} (refresh tokens are issued only with an authorization code or a device code)`,
    );
  }

  const scopes = [...new Set((request.scopes ?? []).flatMap((s) => s.split(' ')).filter(Boolean))];
  if (scopes.length === 0) problems.push(`at least one scope is required (--scope ${SUPPORTED_SCOPES.join('|')})`);
  for (const scope of scopes) {
    if (!SUPPORTED_SCOPES.includes(scope))
      problems.push(`unknown scope "${scope}" (known: ${SUPPORTED_SCOPES.join(', ')})`);
  }

  // RFC 9126 §6: only authorization requests can be pushed.
  if (request.requirePar && !grantTypes.includes('authorization_code'))
    problems.push('--require-par applies to authorization requests: it needs --grant authorization_code');

  if (problems.length) throw new ClientRegistrationError(problems);
  return {
    name,
    redirectUris,
    grantTypes,
    scopes,
    public: isPublic,
    ...keys,
    ...(request.requirePar ? { requirePar: true as const } : {}),
    ...(request.dpopBoundAccessTokens ? { dpopBoundAccessTokens: true as const } : {}),
  };
}

/**
 * A new client_id: 128 random bits, base64url (22 characters). Never shaped like a UUID — resource servers
 * tell a client_credentials token (sub = client_id) from a user's (sub = user UUID) by that — and never
 * starting with "-", so it can be passed as a command-line argument.
 */
export function generateClientId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-') && !UUID_SHAPE.test(id)) return id;
  }
}

export interface RegisteredClient {
  clientId: string;
  /** Shown once to the operator; only its hash is stored. Null for a public or a private_key_jwt client. */
  clientSecret: string | null;
  registration: ValidRegistration;
}

/** Validates and stores a new client. */
export async function registerClient(
  prisma: PrismaClient,
  request: ClientRegistrationRequest,
  options: RegistrationOptions = {},
): Promise<RegisteredClient> {
  const registration = validateRegistration(request, options);
  const clientId = generateClientId();
  const withKeys = registration.jwks !== undefined || registration.jwksUri !== undefined;
  const clientSecret = registration.public || withKeys ? null : generateClientSecret();
  await prisma.client.create({
    data: {
      id: clientId,
      name: registration.name,
      secretHash: clientSecret === null ? null : hashClientSecret(clientSecret),
      redirectUris: registration.redirectUris,
      allowedScopes: registration.scopes,
      grantTypes: registration.grantTypes,
      requirePushedAuthorizationRequests: registration.requirePar ?? false,
      dpopBoundAccessTokens: registration.dpopBoundAccessTokens ?? false,
      // RFC 7591 §2: registered to use private_key_jwt, and only it.
      ...(withKeys ? { tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: registration.jwksUri ?? null } : {}),
      ...(registration.jwks ? { jwks: registration.jwks as unknown as Prisma.InputJsonObject } : {}),
    },
  });
  return { clientId, clientSecret, registration };
}

export interface ClientSummary {
  clientId: string;
  name: string;
  type: 'public' | 'confidential';
  /** How it came to be known: operator (this command, the seed), dynamic (RFC 7591), metadata_document. */
  registration: string;
  /** RFC 7591 token_endpoint_auth_method when registered (null: any method that fits its type). */
  authMethod: string | null;
  /** private_key_jwt: how many keys it registered inline, or where it publishes them. */
  keys?: number;
  jwksUri?: string;
  grantTypes: string[];
  scopes: string[];
  redirectUris: string[];
  createdAt: Date;
  /** RFC 9126 §6, RFC 9449 §5.2. */
  requirePushedAuthorizationRequests: boolean;
  dpopBoundAccessTokens: boolean;
}

/** Every registered client, oldest first, without secret hashes. */
export async function listClients(prisma: PrismaClient): Promise<ClientSummary[]> {
  const rows = await prisma.client.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  return rows.map((c) => ({
    clientId: c.id,
    name: c.name,
    type: isPublicClient(c) ? 'public' : 'confidential',
    registration: c.registration,
    authMethod: c.tokenEndpointAuthMethod,
    ...(Array.isArray((c.jwks as { keys?: unknown } | null)?.keys)
      ? { keys: (c.jwks as { keys: unknown[] }).keys.length }
      : {}),
    ...(c.jwksUri ? { jwksUri: c.jwksUri } : {}),
    grantTypes: c.grantTypes,
    scopes: c.allowedScopes,
    redirectUris: c.redirectUris,
    createdAt: c.createdAt,
    requirePushedAuthorizationRequests: c.requirePushedAuthorizationRequests,
    dpopBoundAccessTokens: c.dpopBoundAccessTokens,
  }));
}
