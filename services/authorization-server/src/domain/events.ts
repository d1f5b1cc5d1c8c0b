// What the protocol core tells side concerns (metrics, workshop tracing) about, through app.events
// (plugins/events.ts). Protocol code decides and emits; subscribers never change an answer. Payloads carry
// what subscribers need: the Fastify request where request context matters (its workshop trace), ids and
// records otherwise. A code travels in `code.issued` and `code.claimed` only so a subscriber can recognise the
// same code on both sides; no subscriber may log or record it.
import type { FastifyRequest } from 'fastify';
import type {
  AuthorizationRequest,
  ClientAuthMethod,
  ClientRecord,
  CodeData,
  GrantRecord,
  IssuedAccessToken,
} from './records.js';

/** The endpoints that emit `check.failed`. */
export type Endpoint =
  | '/oauth/token'
  | '/oauth/revoke'
  | '/oauth/introspect'
  | '/oauth/device_authorization'
  | '/oauth/register'
  | '/oauth/par';

/** The browser leg of an authorization: keyed by the pending request's id (those requests carry no trace). */
interface Interaction {
  requestId: string;
}

// A type alias, not an interface: ProtocolEvents needs the index signature only an alias implies.
export type AuthorizationServerEvents = {
  /** /authorize validated a request and stored it (RFC 6749 §4.1.1); `pushed`: it came by request_uri (RFC 9126 §4). */
  'authorization.validated': Interaction & { authorization: AuthorizationRequest; pushed: boolean };
  /** The PAR endpoint validated and stored a pushed request under a new request_uri (RFC 9126 §2.2). */
  'par.pushed': {
    request: FastifyRequest;
    client: ClientRecord;
    authorization: AuthorizationRequest;
    expiresIn: number;
  };
  /** /authorize refused a request_uri: malformed, unknown, expired, used, or another client's (RFC 9126 §4). */
  'par.request-uri-rejected': { clientId: string };
  /** A login session already covers a pending request. */
  'login.session-found': Interaction & { username: string };
  'login.succeeded': Partial<Interaction> & { username: string };
  /** Wrong username or password (never carried here). */
  'login.failed': Partial<Interaction>;
  'consent.shown': Interaction & { username: string; clientId: string; scopes: string[] };
  'consent.approved': Interaction & { clientId: string; scopes: string[] };
  /** A stored consent covered the request: no consent page (RFC 6749 §4.1.1). */
  'consent.remembered': Interaction & { clientId: string; scopes: string[] };
  /** The user withdrew a client's consent and its grants on the connected apps page. */
  'consent.withdrawn': { userId: string; clientId: string; grantsRevoked: number };
  /** An authorization code was issued for a pending request (RFC 6749 §4.1.2). */
  'code.issued': Interaction & { code: string; data: CodeData; ttlSeconds: number };

  /** A client authenticated at a form endpoint (RFC 6749 §2.3). */
  'client.authenticated': { request: FastifyRequest; client: ClientRecord; method: ClientAuthMethod };
  /** The client may use the grant type it asked for (RFC 6749 §5.2 unauthorized_client otherwise). */
  'token.requested': { request: FastifyRequest; client: ClientRecord; grantType: string };
  /** This redemption claimed the code first (RFC 6749 §4.1.2 single use); its checks follow. */
  'code.claimed': { request: FastifyRequest; code: string; data: CodeData };
  /** The claimed code passed every check: same client, redirect_uri, PKCE, resource (RFC 6749 §4.1.3). */
  'code.verified': { request: FastifyRequest; client: ClientRecord; data: CodeData };
  /** The code was redeemed and tokens issued. */
  'code.redeemed': { request: FastifyRequest; client: ClientRecord; grant: GrantRecord };
  /** The code's own client presented it again: what it produced is revoked (RFC 6749 §4.1.2). */
  'code.replayed': { request: FastifyRequest; client: ClientRecord; grantId?: string };
  'refresh.rotated': { request: FastifyRequest; client: ClientRecord; grant: GrantRecord };
  /** A refresh token was used and stays valid, not rotated (REFRESH_TOKEN_ROTATION=false, FAPI 2.0 §5.3.2.1). */
  'refresh.kept': { request: FastifyRequest; client: ClientRecord; grant: GrantRecord };
  /** A spent refresh token was presented again: its grant is revoked (RFC 9700 §4.14.2). */
  'refresh.reused': { request: FastifyRequest; client: ClientRecord; grant: GrantRecord };
  /** An access token was issued at the token endpoint (RFC 6749 §5.1). */
  'token.issued': {
    request: FastifyRequest;
    client: ClientRecord;
    grantType: string;
    token: IssuedAccessToken;
    audience: string;
    /** A refresh token was issued with it for the first time (a rotation's successor does not count). */
    refreshTokenIssued: boolean;
  };
  /** A grant ended: its refresh tokens stop working, introspection reports its access tokens inactive. */
  'grant.revoked': {
    request: FastifyRequest;
    clientId: string;
    grantId: string;
    cause: 'revocation' | 'code-replay' | 'refresh-reuse';
  };
  /** An access token was revoked through RFC 7009. */
  'token.revoked': { request: FastifyRequest; client: ClientRecord };
  /** RFC 7009 §2.2: the token was unknown or another client's; answered 200 all the same. */
  'revocation.unmatched': { request: FastifyRequest; client: ClientRecord };
  /** RFC 7662 §2.2: what introspection answered. */
  'token.introspected': {
    request: FastifyRequest;
    client: ClientRecord;
    active: boolean;
    kind: 'access token' | 'refresh token';
    scope?: string;
  };
  /** A device authorization was issued: device code and user code (RFC 8628 §3.2); never carried here. */
  'device.authorized': { request: FastifyRequest; client: ClientRecord; scopes: string[]; expiresIn: number };
  /** The person approved a device on the verification page (RFC 8628 §3.3). */
  'device.approved': { clientId: string; userId: string; scopes: string[] };
  /** The person denied a device: its polls now answer access_denied (RFC 8628 §3.5). */
  'device.denied': { clientId: string; userId: string };
  /** A device polled before its interval was up: slow_down, and the interval grew (RFC 8628 §3.5). */
  'device.polled-too-fast': { request: FastifyRequest; client: ClientRecord; interval: number };
  /** An approved device code was exchanged for tokens (once). */
  'device.redeemed': { request: FastifyRequest; client: ClientRecord; grant: GrantRecord };
  /** A user code typed on the verification page was unknown, expired or already used. */
  'device.user-code-rejected': Record<string, never>;
  /** A client registered itself (RFC 7591), changed or deleted its registration (RFC 7592). */
  'client.registered': { request: FastifyRequest; client: ClientRecord };
  'client.updated': { request: FastifyRequest; client: ClientRecord };
  'client.deleted': { request: FastifyRequest; clientId: string };
  /** A check refused a request with an OAuthError: its code and the fixed `reason` naming the rule. */
  'check.failed': {
    request: FastifyRequest;
    endpoint: Endpoint;
    /** The grant type, once the token endpoint has read one. */
    grantType?: string;
    /** The authenticated client, once there is one. */
    clientId?: string;
    error: string;
    reason: string;
  };
};
