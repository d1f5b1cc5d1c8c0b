// The client's protocol events: the protocol layer (plugins/oauth-client.ts, plugins/resource-api.ts,
// plugins/connection.ts) says what it sent and what it got back through `app.events` (plugins/events.ts), and
// side concerns subscribe in their own plugins — in workshop mode plugins/workshop-recorder.ts records each
// event as a step of the flow inspector. No protocol line calls the inspector.
//
// Payloads carry the raw values (tokens, the code_verifier): subscribers decide what may be shown (the
// inspector shortens tokens and masks the secret, see workshop/inspector/present.ts), and nothing subscribes
// outside workshop mode.
import type { FastifyRequest } from 'fastify';

/**
 * The traced flow a protocol call belongs to (workshop mode): the W3C trace id that the call carries as
 * traceparent, and the request it serves, where a subscriber finds the browser the flow is recorded for.
 */
export interface FlowContext {
  traceId: string;
  request: FastifyRequest;
}

/** The flow context of a request whose tokens (or pending authorization) carry this trace id, if any. */
export function flowContext(request: FastifyRequest, traceId: string | undefined): FlowContext | undefined {
  return traceId ? { traceId, request } : undefined;
}

/** The calls to the authorization server's back channel (RFC 6749 §4.1.3, §6; RFC 7009 §2.1). */
export type AuthorizationServerCall =
  | 'authorization_code'
  | 'refresh_token'
  | 'revocation'
  /** RFC 9126 §2.1 (USE_PAR). */
  | 'pushed_authorization_request';

/** What the inspector shows of a private_key_jwt assertion (RFC 7523 §2.2): its algorithm and key id, never the JWT. */
export interface AssertionShown {
  alg: string;
  kid: string;
}

export type ClientEvents = {
  /**
   * A form request to the token, PAR or revocation endpoint, client-authenticated: client_secret_basic, or
   * private_key_jwt when `assertion` is set (oauth4webapi adds the assertion itself, so it is not in `params`).
   */
  'as.request': {
    flow: FlowContext;
    call: AuthorizationServerCall;
    endpoint: string;
    clientId: string;
    params: Record<string, string>;
    traceparent: string;
    assertion?: AssertionShown;
  };
  /** Its answer: the status and the JSON body as read (tokens included), or null for an empty one. */
  'as.response': {
    flow: FlowContext;
    call: AuthorizationServerCall;
    status: number;
    body: Record<string, unknown> | null;
    rejected: boolean;
  };
  /** A token response gave this access token; `dpopJkt`: the thumbprint of the DPoP key it was requested with. */
  'access-token.issued': {
    flow: FlowContext;
    call: 'authorization_code' | 'refresh_token';
    accessToken: string;
    dpopJkt?: string;
  };
  /** A call to the resource server with the access token, as a Bearer (RFC 6750 §2.1) or DPoP (RFC 9449 §7.1) credential. */
  'rs.request': {
    flow: FlowContext;
    method: string;
    url: string;
    accessToken: string;
    traceparent: string;
    scheme?: 'Bearer' | 'DPoP';
  };
  /**
   * A DPoP proof about to be sent (RFC 9449 §4), retries included; `jkt` is the RFC 7638 thumbprint of its
   * `jwk`, `accessToken` the token it is bound to (resource server calls, §7.1).
   */
  'dpop.proof': {
    flow: FlowContext;
    to: 'authorization server' | 'resource server';
    proof: string;
    jkt: string | undefined;
    accessToken?: string;
  };
  /** Its answer; `challenge` is the WWW-Authenticate header of a refusal (RFC 6750 §3). */
  'rs.response': {
    flow: FlowContext;
    path: string;
    status: number;
    challenge?: { error?: string | undefined; description?: string | undefined; wwwAuthenticate: string | null };
  };
  /** The connection's tokens were renewed with the refresh token grant (RFC 6749 §6). */
  'connection.refreshed': { request: FastifyRequest; scope: string; rotated: boolean };
  /** The connection's tokens were dropped: the user must connect again. */
  'connection.ended': { request: FastifyRequest; reason: 'no-refresh-token' | 'refresh-rejected' | 'disconnected' };
};
