// Calls to the resource server with the user's access token as a Bearer credential (RFC 6750 §2.1) or,
// for a DPoP-bound token, as a DPoP credential with a proof of the session's key (RFC 9449 §7.1), and
// the reading of its error responses (RFC 6750 §3, §3.1): 401 invalid_token means the token is no longer
// good (expired or revoked: connect again), 403 insufficient_scope names the scope that was missing.
// Refusals are ResourceError with a reason (oauth/errors.ts); each call and answer is a protocol event
// (oauth/events.ts), and a call made for a traced flow (workshop mode) carries its traceparent.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import * as oauth from 'oauth4webapi';
import { requestIdHeaders, type ProtocolEvents } from '@quartet/common';
import type { Config } from '../config.js';
import { parseBearerChallenge } from '../oauth/bearer-challenge.js';
import { ResourceError, UpstreamUnavailableError, isNetworkError } from '../oauth/errors.js';
import type { ClientEvents, FlowContext } from '../oauth/events.js';
import { traceparent } from '../workshop/trace.js';
import { dpopHandle, dpopRequestOptions, retryOnDpopNonce, type StoredDpopKey } from '../oauth/dpop.js';

const UPSTREAM_TIMEOUT_MS = 5000;

export interface Photo {
  id: string;
  title: string;
  contentType: string;
  createdAt: string;
  imageUrl: string;
}
export interface DocumentSummary {
  id: string;
  title: string;
  createdAt: string;
}
export interface DocumentDetail extends DocumentSummary {
  content: string;
}

export class ResourceApi {
  private readonly base: string;
  private readonly httpOptions: { [oauth.allowInsecureRequests]?: boolean };
  /** For the DPoP handle only (its clock skew setting): the RS never sees client credentials. */
  private readonly client: oauth.Client;

  constructor(
    config: Config,
    private readonly events: ProtocolEvents<ClientEvents>,
  ) {
    this.base = config.RESOURCE_SERVER;
    this.client = { client_id: config.CLIENT_ID };
    // oauth4webapi refuses http:// URLs. Allowed ONLY when the configured resource server is http (local
    // development): a Bearer token over plain http is readable by anyone on the path (RFC 6750 §5.3), and
    // config.ts refuses an http resource server in production.
    this.httpOptions = this.base.startsWith('http:') ? { [oauth.allowInsecureRequests]: true } : {};
  }

  /**
   * GETs `path` with the token; returns the successful response or throws a typed error. With `dpopKey` (a
   * DPoP-bound token) the token goes as `Authorization: DPoP` with a proof carrying its hash (ath, RFC 9449
   * §7.1), and a 401 use_dpop_nonce (§9) is answered by one retry with the nonce the handle took from it.
   */
  async get(
    accessToken: string,
    path: string,
    accept = 'application/json',
    flow?: FlowContext,
    dpopKey?: StoredDpopKey,
  ): Promise<Response> {
    const url = new URL(this.base + path);
    const trace = flow ? traceparent(flow.traceId) : undefined;
    const handle = dpopKey ? await dpopHandle(this.client, dpopKey) : undefined;
    if (flow && trace)
      this.events.emit('rs.request', {
        flow,
        method: 'GET',
        url: url.href,
        accessToken,
        traceparent: trace,
        scheme: handle ? 'DPoP' : 'Bearer',
      });
    // x-request-id: the RS logs this call under the same reqId as the page request that caused it.
    const headers = new Headers({ accept, ...requestIdHeaders() });
    if (trace) headers.set('traceparent', trace);
    const challenged = (err: oauth.WWWAuthenticateChallengeError) => {
      const challenge = err.response.headers.get('www-authenticate');
      if (flow)
        this.events.emit('rs.response', {
          flow,
          path: url.pathname,
          status: err.status,
          challenge: { ...parseBearerChallenge(challenge), wwwAuthenticate: challenge },
        });
    };
    let response: Response;
    try {
      response = await retryOnDpopNonce(
        handle,
        () =>
          oauth.protectedResourceRequest(accessToken, 'GET', url, headers, null, {
            ...this.httpOptions,
            ...dpopRequestOptions(handle, this.events, flow, 'resource server', accessToken),
            signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
          }),
        (err) => {
          if (err instanceof oauth.WWWAuthenticateChallengeError) {
            challenged(err);
            void err.response.body?.cancel();
          }
        },
      );
    } catch (err) {
      if (err instanceof oauth.WWWAuthenticateChallengeError) {
        challenged(err);
        throw this.fromChallenge(err);
      }
      if (isNetworkError(err)) throw new UpstreamUnavailableError('resource server', err);
      throw err;
    }
    if (flow) this.events.emit('rs.response', { flow, path: url.pathname, status: response.status });
    if (response.ok) return response;
    await response.body?.cancel();
    // Without a WWW-Authenticate header (already handled above) a 401 still means the token did not work.
    if (response.status === 401) throw new ResourceError('token-rejected', { status: 401 });
    if (response.status === 403) throw new ResourceError('insufficient-scope', { status: 403 });
    if (response.status === 404) throw new ResourceError('not-found', { status: 404 });
    if (response.status >= 500)
      throw new UpstreamUnavailableError('resource server', new Error(`status ${response.status}`));
    throw new ResourceError('unexpected-response', { status: response.status });
  }

  private fromChallenge(err: oauth.WWWAuthenticateChallengeError): Error {
    void err.response.body?.cancel();
    const bearer = err.cause.find((c) => c.scheme === 'bearer' || c.scheme === 'dpop') ?? err.cause[0];
    const params = bearer?.parameters ?? {};
    if (err.status === 403 || params.error === 'insufficient_scope')
      return new ResourceError('insufficient-scope', { status: err.status, scope: params.scope });
    if (err.status === 401)
      return new ResourceError('token-rejected', { status: 401, description: params.error_description });
    if (err.status >= 500) return new UpstreamUnavailableError('resource server', err);
    return new ResourceError('unexpected-response', { status: err.status });
  }

  private async json<T>(accessToken: string, path: string, flow?: FlowContext, dpopKey?: StoredDpopKey): Promise<T> {
    const response = await this.get(accessToken, path, 'application/json', flow, dpopKey);
    try {
      return (await response.json()) as T;
    } catch {
      throw new ResourceError('unexpected-response', { status: response.status });
    }
  }

  async listPhotos(accessToken: string, flow?: FlowContext, dpopKey?: StoredDpopKey): Promise<Photo[]> {
    const body = await this.json<{ photos?: Photo[] }>(accessToken, '/photos', flow, dpopKey);
    if (!Array.isArray(body.photos)) throw new ResourceError('unexpected-response', { status: 200 });
    return body.photos;
  }

  /** The image bytes, as a streaming response whose Content-Type the caller must check. */
  photoImage(accessToken: string, id: string, flow?: FlowContext, dpopKey?: StoredDpopKey): Promise<Response> {
    return this.get(accessToken, `/photos/${encodeURIComponent(id)}/image`, 'image/*', flow, dpopKey);
  }

  async listDocuments(accessToken: string, flow?: FlowContext, dpopKey?: StoredDpopKey): Promise<DocumentSummary[]> {
    const body = await this.json<{ documents?: DocumentSummary[] }>(accessToken, '/documents', flow, dpopKey);
    if (!Array.isArray(body.documents)) throw new ResourceError('unexpected-response', { status: 200 });
    return body.documents;
  }

  getDocument(accessToken: string, id: string, flow?: FlowContext, dpopKey?: StoredDpopKey): Promise<DocumentDetail> {
    return this.json<DocumentDetail>(accessToken, `/documents/${encodeURIComponent(id)}`, flow, dpopKey);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    resourceApi: ResourceApi;
  }
}

async function resourceApiPlugin(app: FastifyInstance) {
  app.decorate('resourceApi', new ResourceApi(app.config, app.events));
}

export default fp(resourceApiPlugin, { name: 'resource-api', dependencies: ['config', 'events'] });
