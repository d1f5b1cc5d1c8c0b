// The OAuth 2.0 client side of the authorization-code flow, built on oauth4webapi:
// - RFC 8414 §3: authorization server metadata, discovered lazily on first use and cached;
// - RFC 6749 §4.1.1 + RFC 7636 §4.1-4.3: authorization request with state and an S256 PKCE challenge;
// - RFC 6749 §4.1.2 + RFC 9207 §2.4: authorization response validation (state and the `iss` parameter,
//   which defeats mix-up attacks; we require it even if the metadata forgot to advertise it);
// - RFC 6749 §4.1.3/§4.1.4 + §2.3.1: token request with client_secret_basic (or private_key_jwt, RFC 7523 §2.2,
//   with CLIENT_PRIVATE_KEY) and the PKCE code_verifier;
// - RFC 6749 §6 (+ RFC 9700 §4.14.2 rotation): refresh token grant, keeping the rotated refresh token;
// - RFC 7009 §2.1: revocation of the refresh token at logout (token_type_hint=refresh_token).
// Each back-channel call emits what it sent and what it got back as protocol events (oauth/events.ts), which
// the workshop inspector records; in workshop mode a call made for a traced flow carries its W3C traceparent.
// Failures are typed errors (oauth/errors.ts), made into pages by plugins/html-errors.ts only.
// Every call carries the current request's x-request-id, so the AS logs it under the same reqId.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import * as oauth from 'oauth4webapi';
import { requestIdHeaders, type ProtocolEvents } from '@quartet/common';
import type { Config } from '../config.js';
import { redirectUri } from '../config.js';
import { privateKeyJwt, readClientPrivateKey } from '../oauth/client-key.js';
import {
  CallbackError,
  RefreshRejectedError,
  TokenRequestError,
  UpstreamUnavailableError,
  isNetworkError,
} from '../oauth/errors.js';
import type { AssertionShown, AuthorizationServerCall, ClientEvents, FlowContext } from '../oauth/events.js';
import { traceparent } from '../workshop/trace.js';
import {
  dpopHandle,
  dpopRequestOptions,
  generateDpopKey,
  retryOnDpopNonce,
  type StoredDpopKey,
} from '../oauth/dpop.js';

/** How long we wait for the authorization server before answering 503. */
const UPSTREAM_TIMEOUT_MS = 5000;
/** Metadata rarely changes, but re-reading it now and then picks up endpoint moves without a restart. */
const METADATA_MAX_AGE_MS = 60 * 60 * 1000;

export interface PreparedAuthorization {
  /** The authorization endpoint (RFC 6749 §3.1). */
  endpoint: string;
  /** The authorization request's parameters (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9449 §10). */
  params: URLSearchParams;
  state: string;
  codeVerifier: string;
  /** USE_DPOP: the key the code is bound to; kept server-side with the pending authorization. */
  dpopKey?: StoredDpopKey;
}

/** The error and description of an OAuth error answer (RFC 6749 §5.2), from either oauth4webapi error kind. */
function oauthErrorOf(err: unknown): { error: string; error_description?: string } | null {
  if (err instanceof oauth.ResponseBodyError)
    return { error: err.error, ...(err.error_description ? { error_description: err.error_description } : {}) };
  if (err instanceof oauth.WWWAuthenticateChallengeError)
    return { error: err.cause[0]?.parameters.error ?? 'invalid_client' };
  return null;
}

/** The token endpoint's answer as the events carry it: the standard fields only (RFC 6749 §5.1). */
function tokenBody(result: oauth.TokenEndpointResponse): Record<string, unknown> {
  const { access_token, token_type, expires_in, scope, refresh_token } = result;
  return Object.fromEntries(
    Object.entries({ access_token, token_type, expires_in, scope, refresh_token }).filter(([, v]) => v !== undefined),
  );
}

/** x-request-id of the request being handled, and in workshop mode the flow's traceparent. */
function traceHeaders(header: string | undefined): { headers: Record<string, string> } {
  return { headers: { ...requestIdHeaders(), ...(header ? { traceparent: header } : {}) } };
}

export interface TokenSet {
  accessToken: string;
  tokenType: string;
  scope: string;
  expiresIn: number | null;
  refreshToken: string | undefined;
}

/** What a logout revocation achieved; a failure is thrown instead. */
export type RevocationOutcome = 'revoked' | 'no-revocation-endpoint';

/** The two calls to the token endpoint (RFC 6749 §4.1.3, §6). */
type TokenCall = Exclude<AuthorizationServerCall, 'revocation' | 'pushed_authorization_request'>;

/** How the app authenticates, and what the inspector shows of it (see clientAuthentication). */
export interface ClientAuthentication {
  auth: oauth.ClientAuth;
  /** Set with private_key_jwt: the assertion's alg and kid. */
  assertion?: AssertionShown;
}

/**
 * How the app authenticates at the token, PAR and revocation endpoints: private_key_jwt (RFC 7523 §2.2) with
 * CLIENT_PRIVATE_KEY, else client_secret_basic (RFC 6749 §2.3.1) with CLIENT_SECRET. Imports the key, so an
 * unusable one stops the app at start, naming the setting.
 */
export async function clientAuthentication(config: Config): Promise<ClientAuthentication> {
  if (config.CLIENT_PRIVATE_KEY === undefined) return { auth: oauth.ClientSecretBasic(config.CLIENT_SECRET) };
  const key = readClientPrivateKey(config.CLIENT_PRIVATE_KEY);
  return { auth: await privateKeyJwt(key), assertion: { alg: key.alg, kid: key.jwk.kid } };
}

export class OAuthClient {
  private readonly issuer: URL;
  /** The issuer identifier the authorization response's `iss` must equal (RFC 9207 §2.4). */
  readonly issuerIdentifier: string;
  private readonly client: oauth.Client;
  private readonly clientAuth: oauth.ClientAuth;
  /** With CLIENT_PRIVATE_KEY: what the inspector shows of each assertion. */
  readonly assertion: AssertionShown | undefined;
  private readonly redirectUri: string;
  private readonly httpOptions: { [oauth.allowInsecureRequests]?: boolean };
  private metadata: { as: oauth.AuthorizationServer; at: number } | null = null;
  private inflight: Promise<oauth.AuthorizationServer> | null = null;

  constructor(
    private readonly config: Config,
    private readonly events: ProtocolEvents<ClientEvents>,
    /** From clientAuthentication(config); client_secret_basic with CLIENT_SECRET when left out. */
    authentication?: ClientAuthentication,
  ) {
    this.issuer = new URL(config.AUTHORIZATION_SERVER);
    this.issuerIdentifier = config.AUTHORIZATION_SERVER;
    this.client = { client_id: config.CLIENT_ID };
    this.clientAuth = authentication?.auth ?? oauth.ClientSecretBasic(config.CLIENT_SECRET);
    this.assertion = authentication?.assertion;
    this.redirectUri = redirectUri(config);
    // oauth4webapi refuses http:// endpoints. We allow them ONLY when the configured authorization server
    // URL is itself http, i.e. local development; config.ts refuses http servers in production (https PUBLIC_URL).
    this.httpOptions = this.issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};
  }

  /**
   * Adds this app's client authentication to a form request built elsewhere (the lab's misbehaving client): the
   * Basic header, or a fresh assertion in the body (oauth4webapi's ClientAuth does either).
   */
  async authenticate(headers: Headers, body: URLSearchParams): Promise<void> {
    await this.clientAuth(await this.authorizationServer(), this.client, body, headers);
  }

  /** Emits the form request about to be sent for a traced flow; returns the traceparent it must carry. */
  private requested(
    flow: FlowContext | undefined,
    call: AuthorizationServerCall,
    endpoint: string,
    params: Record<string, string>,
  ): string | undefined {
    if (!flow) return undefined;
    const header = traceparent(flow.traceId);
    this.events.emit('as.request', {
      flow,
      call,
      endpoint,
      clientId: this.config.CLIENT_ID,
      params,
      traceparent: header,
      ...(this.assertion ? { assertion: this.assertion } : {}),
    });
    return header;
  }

  private answered(
    flow: FlowContext | undefined,
    call: AuthorizationServerCall,
    status: number,
    body: Record<string, unknown> | null,
    rejected = status >= 400,
  ): void {
    if (flow) this.events.emit('as.response', { flow, call, status, body, rejected });
  }

  /**
   * Emits a token endpoint error response (RFC 6749 §5.2). temporarily_unavailable is thrown here as an
   * outage (a 503 page, tokens kept): the AS asks to be tried again later, it has not refused the grant.
   */
  private tokenErrorAnswered(flow: FlowContext | undefined, call: TokenCall, err: oauth.ResponseBodyError): void {
    this.answered(flow, call, err.status, { error: err.error, error_description: err.error_description });
    if (err.error === 'temporarily_unavailable') throw new UpstreamUnavailableError('authorization server', err);
  }

  /** Emits a successful token response (RFC 6749 §5.1) and the access token it issued (and the DPoP key's thumbprint). */
  private async tokensIssued(
    flow: FlowContext | undefined,
    call: TokenCall,
    status: number,
    result: oauth.TokenEndpointResponse,
    handle: oauth.DPoPHandle | undefined,
  ): Promise<void> {
    this.answered(flow, call, status, tokenBody(result));
    if (!flow) return;
    const dpopJkt = handle ? await handle.calculateThumbprint() : undefined;
    this.events.emit('access-token.issued', {
      flow,
      call,
      accessToken: result.access_token,
      ...(dpopJkt ? { dpopJkt } : {}),
    });
  }

  /**
   * Runs a DPoP token request and, on 400 use_dpop_nonce (RFC 9449 §8), records that answer and runs it once
   * more: the handle has kept the nonce from the DPoP-Nonce header. A second refusal goes to the caller.
   */
  private withNonceRetry<T>(
    flow: FlowContext | undefined,
    call: TokenCall,
    handle: oauth.DPoPHandle | undefined,
    run: () => Promise<T>,
  ): Promise<T> {
    return retryOnDpopNonce(handle, run, (err) => {
      if (err instanceof oauth.ResponseBodyError)
        this.answered(flow, call, err.status, { error: err.error, error_description: err.error_description });
    });
  }

  /** RFC 8414 metadata; a failure is not cached, so the next request tries again once the AS is back. */
  async authorizationServer(): Promise<oauth.AuthorizationServer> {
    if (this.metadata && Date.now() - this.metadata.at < METADATA_MAX_AGE_MS) return this.metadata.as;
    this.inflight ??= this.discover().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async discover(): Promise<oauth.AuthorizationServer> {
    try {
      const response = await oauth.discoveryRequest(this.issuer, {
        ...this.httpOptions,
        ...traceHeaders(undefined),
        algorithm: 'oauth2',
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
      const as = await oauth.processDiscoveryResponse(this.issuer, response);
      this.metadata = { as, at: Date.now() };
      return as;
    } catch (err) {
      // Unreachable, 5xx, or a metadata document we cannot use: to the user all mean "try again later".
      throw new UpstreamUnavailableError('authorization server', err);
    }
  }

  /**
   * Prepares an authorization request (RFC 6749 §4.1.1) with a fresh state and PKCE pair (RFC 7636 §4.1); with
   * USE_DPOP also a fresh DPoP key, whose thumbprint goes out as dpop_jkt (RFC 9449 §10): the code is bound to
   * the key, so a stolen code is useless without it.
   */
  async prepareAuthorization(): Promise<PreparedAuthorization> {
    const as = await this.authorizationServer();
    if (!as.authorization_endpoint)
      throw new UpstreamUnavailableError('authorization server', new Error('no authorization_endpoint'));
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: this.config.CLIENT_ID,
      redirect_uri: this.redirectUri,
      scope: this.config.SCOPES,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      // S256 only: "plain" would hand the verifier to anyone who sees the front-channel request (RFC 9700 §2.1.1).
      code_challenge_method: 'S256',
    });
    let dpopKey: StoredDpopKey | undefined;
    if (this.config.USE_DPOP) {
      dpopKey = await generateDpopKey();
      params.set('dpop_jkt', await (await dpopHandle(this.client, dpopKey)).calculateThumbprint());
    }
    return {
      endpoint: as.authorization_endpoint,
      params,
      state,
      codeVerifier,
      ...(dpopKey ? { dpopKey } : {}),
    };
  }

  /**
   * The URL the browser is sent to. Without USE_PAR: the authorization endpoint with every parameter in the
   * query. With USE_PAR (RFC 9126 §2): the parameters are pushed, client-authenticated as at the token endpoint
   * (§2.1), and the browser carries only client_id and the request_uri (§4), so nothing in the front channel
   * can be read or altered. A refusal is CallbackError('authorization-refused').
   */
  async authorizationUrl(prepared: PreparedAuthorization, flow?: FlowContext): Promise<URL> {
    const url = new URL(prepared.endpoint);
    if (!this.config.USE_PAR) {
      for (const [name, value] of prepared.params) url.searchParams.set(name, value);
      return url;
    }
    const as = await this.authorizationServer();
    const endpoint = as.pushed_authorization_request_endpoint;
    if (!endpoint)
      throw new UpstreamUnavailableError(
        'authorization server',
        new Error('USE_PAR is on but the metadata has no pushed_authorization_request_endpoint'),
      );
    const trace = this.requested(flow, 'pushed_authorization_request', endpoint, Object.fromEntries(prepared.params));
    const response = await callAuthorizationServer('pushed authorization request endpoint', () =>
      oauth.pushedAuthorizationRequest(as, this.client, this.clientAuth, prepared.params, {
        ...this.httpOptions,
        ...traceHeaders(trace),
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      }),
    );
    let result: oauth.PushedAuthorizationResponse;
    try {
      result = await oauth.processPushedAuthorizationResponse(as, this.client, response);
    } catch (err) {
      const refusal = oauthErrorOf(err);
      this.answered(flow, 'pushed_authorization_request', response.status, refusal, true);
      if (refusal?.error === 'temporarily_unavailable') throw new UpstreamUnavailableError('authorization server', err);
      throw new CallbackError('authorization-refused', {
        error: refusal?.error ?? 'invalid_response',
        detail: refusal?.error_description ?? (err instanceof Error ? err.message : undefined),
        cause: err,
      });
    }
    this.answered(flow, 'pushed_authorization_request', response.status, {
      request_uri: result.request_uri,
      expires_in: result.expires_in,
    });
    url.searchParams.set('client_id', this.config.CLIENT_ID);
    url.searchParams.set('request_uri', result.request_uri);
    return url;
  }

  /**
   * Validates the authorization response against the expected state and issuer (RFC 6749 §4.1.2,
   * RFC 9207 §2.4). Throws CallbackError('untrusted-response') for a response that did not come from our AS for our request,
   * and oauth.AuthorizationResponseError for a genuine error response (e.g. access_denied).
   */
  async validateCallback(parameters: URLSearchParams, expectedState: string): Promise<URLSearchParams> {
    const as = await this.authorizationServer();
    // Our authorization server always sends `iss`; requiring it even when the metadata does not say so means a
    // response relayed from another server (mix-up, RFC 9700 §4.4) can never be mistaken for one of ours.
    const strictAs: oauth.AuthorizationServer = { ...as, authorization_response_iss_parameter_supported: true };
    try {
      return oauth.validateAuthResponse(strictAs, this.client, parameters, expectedState);
    } catch (err) {
      if (err instanceof oauth.AuthorizationResponseError) throw err;
      throw new CallbackError('untrusted-response', {
        detail: err instanceof Error ? err.message : undefined,
        cause: err,
      });
    }
  }

  /** Exchanges the code for tokens (RFC 6749 §4.1.3) with client_secret_basic (§2.3.1) and the PKCE verifier. */
  async exchangeCode(
    callbackParameters: URLSearchParams,
    codeVerifier: string,
    flow?: FlowContext,
    dpopKey?: StoredDpopKey,
  ): Promise<TokenSet> {
    const as = await this.authorizationServer();
    const handle = dpopKey ? await dpopHandle(this.client, dpopKey) : undefined;
    const trace = this.requested(flow, 'authorization_code', as.token_endpoint ?? '', {
      grant_type: 'authorization_code',
      code: callbackParameters.get('code') ?? '',
      redirect_uri: this.redirectUri,
      code_verifier: codeVerifier,
    });
    let response!: Response;
    let result: oauth.TokenEndpointResponse;
    try {
      // RFC 9449 §8: an AS that wants a nonce answers 400 use_dpop_nonce with one; the request is sent once more.
      result = await this.withNonceRetry(flow, 'authorization_code', handle, async () => {
        response = await callAuthorizationServer('token endpoint', () =>
          oauth.authorizationCodeGrantRequest(
            as,
            this.client,
            this.clientAuth,
            callbackParameters,
            this.redirectUri,
            codeVerifier,
            {
              ...this.httpOptions,
              ...traceHeaders(trace),
              ...dpopRequestOptions(handle, this.events, flow, 'authorization server'),
              signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
            },
          ),
        );
        return oauth.processAuthorizationCodeResponse(as, this.client, response);
      });
    } catch (err) {
      if (err instanceof UpstreamUnavailableError) throw err;
      if (err instanceof oauth.ResponseBodyError) {
        this.tokenErrorAnswered(flow, 'authorization_code', err);
        throw new TokenRequestError('code-refused', 'authorization_code', { error: err.error, cause: err });
      }
      // Never put the raw token response (it may hold a token) into the page or the log: name and message only.
      throw new TokenRequestError('unusable-response', 'authorization_code', {
        detail: err instanceof Error ? err.message : undefined,
      });
    }
    await this.tokensIssued(flow, 'authorization_code', response.status, result, handle);
    return {
      accessToken: result.access_token,
      tokenType: result.token_type,
      // RFC 6749 §5.1: scope omitted means "as requested".
      scope: result.scope ?? this.config.SCOPES,
      expiresIn: typeof result.expires_in === 'number' ? result.expires_in : null,
      refreshToken: result.refresh_token,
    };
  }

  /**
   * Refresh token grant (RFC 6749 §6) with client_secret_basic. The AS rotates refresh tokens (RFC 9700
   * §4.14.2), so the caller must store the returned one and never use the old one again; should an AS not
   * rotate, §6 says the old one stays valid and it is returned unchanged.
   * Throws RefreshRejectedError (connection over), UpstreamUnavailableError (try later) or
   * TokenRequestError('unusable-response').
   */
  async refresh(
    refreshToken: string,
    previousScope: string,
    flow?: FlowContext,
    dpopKey?: StoredDpopKey,
  ): Promise<TokenSet> {
    const as = await this.authorizationServer();
    // RFC 9449 §5.0: a public client's refresh token is bound to the key, so the refresh must prove it too.
    const handle = dpopKey ? await dpopHandle(this.client, dpopKey) : undefined;
    const trace = this.requested(flow, 'refresh_token', as.token_endpoint ?? '', {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    let response!: Response;
    let result: oauth.TokenEndpointResponse;
    try {
      result = await this.withNonceRetry(flow, 'refresh_token', handle, async () => {
        response = await callAuthorizationServer('token endpoint', () =>
          oauth.refreshTokenGrantRequest(as, this.client, this.clientAuth, refreshToken, {
            ...this.httpOptions,
            ...traceHeaders(trace),
            ...dpopRequestOptions(handle, this.events, flow, 'authorization server'),
            signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
          }),
        );
        return oauth.processRefreshTokenResponse(as, this.client, response);
      });
    } catch (err) {
      if (err instanceof UpstreamUnavailableError) throw err;
      if (err instanceof oauth.ResponseBodyError) {
        this.tokenErrorAnswered(flow, 'refresh_token', err);
        throw new RefreshRejectedError(err.error);
      }
      // RFC 6749 §5.2: a failed client_secret_basic authentication comes back as 401 with a challenge.
      if (err instanceof oauth.WWWAuthenticateChallengeError) {
        this.answered(flow, 'refresh_token', err.status, {
          error: err.cause[0]?.parameters.error ?? 'invalid_client',
        });
        throw new RefreshRejectedError(err.cause[0]?.parameters.error ?? 'invalid_client');
      }
      // Name and message only: the raw response may hold tokens.
      throw new TokenRequestError('unusable-response', 'refresh_token', {
        detail: err instanceof Error ? err.message : undefined,
      });
    }
    await this.tokensIssued(flow, 'refresh_token', response.status, result, handle);
    return {
      accessToken: result.access_token,
      tokenType: result.token_type,
      // RFC 6749 §5.1/§6: an omitted scope is the one originally granted.
      scope: result.scope ?? previousScope,
      expiresIn: typeof result.expires_in === 'number' ? result.expires_in : null,
      refreshToken: result.refresh_token ?? refreshToken,
    };
  }

  /**
   * Where the user can sign out at the authorization server too (its `end_session_endpoint`, with our
   * client_id so it can name us and link back), or null when it advertises none or cannot be reached.
   */
  async endSessionUrl(): Promise<string | null> {
    try {
      const endpoint = (await this.authorizationServer()).end_session_endpoint;
      if (!endpoint) return null;
      const url = new URL(endpoint);
      url.searchParams.set('client_id', this.config.CLIENT_ID);
      return url.href;
    } catch {
      return null;
    }
  }

  /**
   * Revokes a refresh token (RFC 7009 §2.1, client-authenticated, token_type_hint=refresh_token); per §2.1
   * the AS also invalidates the access tokens of the same grant where it can. Resolves 'no-revocation-endpoint'
   * when the metadata advertises none; throws when the AS is unreachable or refuses.
   */
  async revokeRefreshToken(refreshToken: string, flow?: FlowContext): Promise<RevocationOutcome> {
    const as = await this.authorizationServer();
    if (!as.revocation_endpoint) return 'no-revocation-endpoint';
    const trace = this.requested(flow, 'revocation', as.revocation_endpoint, {
      token: refreshToken,
      token_type_hint: 'refresh_token',
    });
    const response = await callAuthorizationServer('revocation endpoint', () =>
      oauth.revocationRequest(as, this.client, this.clientAuth, refreshToken, {
        ...this.httpOptions,
        ...traceHeaders(trace),
        additionalParameters: { token_type_hint: 'refresh_token' },
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      }),
    );
    const status = response.status;
    try {
      await oauth.processRevocationResponse(response);
    } catch (err) {
      this.answered(
        flow,
        'revocation',
        status,
        err instanceof oauth.ResponseBodyError ? { error: err.error } : null,
        true,
      );
      throw err;
    }
    this.answered(flow, 'revocation', status, null);
    return 'revoked';
  }
}

/**
 * One request to the authorization server: an unreachable server or a 5xx answer is an outage
 * (UpstreamUnavailableError: a 503 page, tokens kept), never an OAuth answer to act on.
 */
async function callAuthorizationServer(endpoint: string, send: () => Promise<Response>): Promise<Response> {
  let response: Response;
  try {
    response = await send();
  } catch (err) {
    if (isNetworkError(err)) throw new UpstreamUnavailableError('authorization server', err);
    throw err;
  }
  if (response.status >= 500) {
    await response.body?.cancel();
    throw new UpstreamUnavailableError('authorization server', new Error(`${endpoint} answered ${response.status}`));
  }
  return response;
}

declare module 'fastify' {
  interface FastifyInstance {
    oauthClient: OAuthClient;
  }
}

async function oauthClientPlugin(app: FastifyInstance) {
  app.decorate('oauthClient', new OAuthClient(app.config, app.events, await clientAuthentication(app.config)));
}

export default fp(oauthClientPlugin, { name: 'oauth-client', dependencies: ['config', 'events'] });
