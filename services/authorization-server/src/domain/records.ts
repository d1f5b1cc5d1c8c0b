// The authorization server's records and value types: what the stores keep and the protocol code reads. They
// live here, below both, so that protocol code (src/oauth) and stores (src/stores) import downward and never
// from a Fastify plugin.
import type { JSONWebKeySet } from 'jose';

/**
 * How a client came to be known: registered by an operator (the clients command, the seed), by itself through
 * RFC 7591 dynamic registration, or identified by its client ID metadata document (its client_id is that
 * document's https URL). Only operator clients are vouched for by this server.
 */
export type ClientRegistration = 'operator' | 'dynamic' | 'metadata_document';

/** A registered client (RFC 6749 §2). */
export interface ClientRecord {
  id: string;
  name: string;
  /** SHA-256 hex of the secret; null for public clients (RFC 6749 §2.1). */
  secretHash: string | null;
  redirectUris: string[];
  allowedScopes: string[];
  grantTypes: string[];
  registration: ClientRegistration;
  /** RFC 7591 §2 token_endpoint_auth_method as registered; null: any method that fits its type. */
  tokenEndpointAuthMethod: ClientAuthMethod | null;
  /** RFC 9126 §6: its authorization requests must be pushed (a request_uri from the PAR endpoint). */
  requirePushedAuthorizationRequests: boolean;
  /** RFC 9449 §5.2: every token request of this client must carry a DPoP proof. */
  dpopBoundAccessTokens: boolean;
  /** RFC 7591 §2 jwks: a private_key_jwt client's public keys (RFC 7523 §2.2); absent or null: none. */
  jwks?: JSONWebKeySet | null;
  /** RFC 7591 §2 jwks_uri: where a private_key_jwt client publishes them instead; absent or null: none. */
  jwksUri?: string | null;
}

/**
 * RFC 6749 §2.1: a client is public when it holds no credentials — no secret, no registered keys, and not
 * registered for private_key_jwt (RFC 7523). The one answer to "is this client public?" (client_credentials,
 * introspection, silent approval of a remembered consent, DPoP-bound refresh tokens …): a private_key_jwt client
 * has no secret and is confidential everywhere.
 */
export function isPublicClient(client: {
  secretHash: string | null;
  tokenEndpointAuthMethod?: string | null;
  jwks?: unknown;
  jwksUri?: string | null;
}): boolean {
  return (
    client.secretHash === null &&
    client.tokenEndpointAuthMethod !== 'private_key_jwt' &&
    (client.jwks ?? null) === null &&
    (client.jwksUri ?? null) === null
  );
}

/** A resource owner, as far as protocol code needs one. */
export interface UserRecord {
  id: string;
  username: string;
}

/** A validated authorization request (RFC 6749 §4.1.1), waiting server-side for login and consent. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  redirectUriProvided: boolean;
  scopes: string[];
  state?: string;
  codeChallenge: string;
  /** RFC 8707: the resource the tokens will be for (the default audience when the client named none). */
  resource: string;
  /** The client has no credentials (isPublicClient, RFC 6749 §2.1): it is never approved without asking (§10.2). */
  publicClient: boolean;
  /** RFC 9449 §10: the DPoP key thumbprint the code will be bound to (dpop_jkt, or the PAR request's proof). */
  dpopJkt?: string;
}

/** Everything the token endpoint must check a code redemption against (RFC 6749 §4.1.3, RFC 7636 §4.6). */
export interface CodeData {
  clientId: string;
  userId: string;
  redirectUri: string;
  /** Whether redirect_uri was sent in the authorization request (RFC 6749 §4.1.3). */
  redirectUriProvided: boolean;
  codeChallenge: string;
  scopes: string[];
  /** RFC 8707 resource (token audience). */
  resource: string;
  /** RFC 9449 §10: the code is redeemed only with a DPoP proof of this key. */
  dpopJkt?: string;
}

/** What a redemption found: the code's data (null when unknown or expired) and whether it was the first. */
export interface Redemption {
  data: CodeData | null;
  first: boolean;
}

/** A grant (RFC 6749 §1.5): what a redeemed code produced, with its refresh-token family. */
export interface GrantRecord {
  id: string;
  userId: string;
  clientId: string;
  scopes: string[];
  resource: string;
  /** Null for a grant from a device code (RFC 8628), which has no PKCE challenge. */
  codeChallenge: string | null;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  /** RFC 9449 §5: the DPoP key thumbprint its refresh tokens are bound to (public clients); null: not bound. */
  dpopJkt?: string | null;
}

export interface NewGrant {
  userId: string;
  clientId: string;
  scopes: string[];
  resource: string;
  /** The authorization code or device code (RFC 8628) the grant comes from; stored only as its hash. */
  code: string;
  codeChallenge: string | null;
  /** Issue a refresh token with it (the client may use the refresh_token grant). */
  withRefreshToken: boolean;
  /** RFC 9449 §5: bind the refresh tokens to this DPoP key thumbprint. */
  dpopJkt?: string;
}

/** Refresh-token lifetimes (REFRESH_TOKEN_TTL, REFRESH_TOKEN_IDLE_TTL). */
export interface Lifetimes {
  /** Absolute lifetime of a grant's refresh tokens, seconds. */
  absolute: number;
  /** Idle lifetime of one refresh token, seconds. */
  idle: number;
}

/**
 * What the refresh-token store found when asked to spend a token: facts, not conclusions. `refreshToken` is the
 * successor, absent when the token was kept (not rotated) and stays valid. `used` means the
 * token was spent already (or, `concurrently`, by a use running at the same moment); what that means for the
 * grant (RFC 9700 §4.14.2) is decided by the token endpoint.
 */
export type RotationFact =
  | { ok: true; grant: GrantRecord; refreshToken?: string; refreshExpiresAt: Date }
  | { ok: false; fact: 'unknown' }
  | { ok: false; fact: 'other-client' }
  | { ok: false; fact: 'revoked' | 'expired'; grant: GrantRecord }
  | { ok: false; fact: 'used'; grant: GrantRecord; concurrently: boolean };

/** A refresh token as introspection sees it (RFC 7662). */
export interface RefreshTokenInfo {
  grant: GrantRecord;
  createdAt: Date;
  expiresAt: Date;
  active: boolean;
}

/** A client a user approved, with what was approved per resource (RFC 8707 audience). */
export interface ConnectedApp {
  clientId: string;
  clientName: string;
  resources: { resource: string; scopes: string[] }[];
  grantedAt: Date;
  updatedAt: Date;
}

/** An access token as issued (RFC 6749 §5.1 access_token, expires_in, scope). */
export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
  scope: string;
  /** RFC 9449 §6.1: the thumbprint the token is bound to (its cnf.jkt), when the request carried a DPoP proof. */
  jkt?: string;
}

/** Which RFC 6749 §2.3 method a client authenticated with (private_key_jwt: RFC 7523 §2.2). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none' | 'private_key_jwt';

/** A pending device authorization (RFC 8628 §3.1-§3.2), kept under the hash of its device code. */
export interface DeviceAuthorization {
  clientId: string;
  scopes: string[];
  /** RFC 8707: the resource the tokens will be for. */
  resource: string;
  /** The normalised user code (8 letters, no dash), for the verification page. */
  userCode: string;
  /** When the device code stops working (ms since the epoch); the record outlives it to say expired_token. */
  expiresAt: number;
  /** The polling interval the device was told, seconds (RFC 8628 §3.2). */
  interval: number;
}

/** What the person decided on the verification page (RFC 8628 §3.3). */
export type DeviceDecision = { status: 'approved'; userId: string } | { status: 'denied' };

/** The last poll of a device code and the interval in force since (RFC 8628 §3.5 slow_down adds 5 s). */
export interface DevicePoll {
  /** ms since the epoch. */
  at: number;
  interval: number;
}

/**
 * A self-registered client as RFC 7592 management sees it: its record, what it registered beyond what the
 * protocol code uses (client_uri, logo_uri, contacts …), and the hash of its registration access token.
 */
export interface ManagedClient extends ClientRecord {
  metadata: Record<string, unknown>;
  registrationAccessTokenHash: string | null;
  createdAt: Date;
}
