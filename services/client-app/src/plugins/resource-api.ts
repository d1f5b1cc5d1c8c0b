// Calls to the resource server with the user's access token as a Bearer credential (RFC 6750 §2.1), and
// the reading of its error responses (RFC 6750 §3, §3.1): 401 invalid_token means the token is no longer
// good (expired or revoked: connect again), 403 insufficient_scope names the scope that was missing.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import * as oauth from 'oauth4webapi';
import { requestIdHeaders } from '@quartet/common';
import type { Config } from '../config.js';
import { UpstreamUnavailableError, isNetworkError } from '../errors.js';
import { parseBearerChallenge, recordApiRequest, recordApiResponse, type FlowRecorder } from '../workshop/inspector.js';

const UPSTREAM_TIMEOUT_MS = 5000;

/** The resource server rejected the token itself (RFC 6750 §3.1 invalid_token, or a bare 401). */
export class TokenRejectedError extends Error {
  constructor(readonly description: string | undefined) {
    super('The resource server rejected the access token');
    this.name = 'TokenRejectedError';
  }
}

/** The token is valid but lacks a scope (RFC 6750 §3.1 insufficient_scope). */
export class InsufficientScopeError extends Error {
  constructor(readonly requiredScope: string | undefined) {
    super('The access token lacks a required scope');
    this.name = 'InsufficientScopeError';
  }
}

export class ResourceNotFoundError extends Error {
  constructor() {
    super('Not found at the resource server');
    this.name = 'ResourceNotFoundError';
  }
}

/** Any other answer we cannot use (unexpected status or body). */
export class ResourceResponseError extends Error {
  constructor(readonly status: number) {
    super(`The resource server answered ${status}`);
    this.name = 'ResourceResponseError';
  }
}

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

  constructor(config: Config) {
    this.base = config.RESOURCE_SERVER;
    // oauth4webapi refuses http:// URLs. Allowed ONLY when the configured resource server is http (local
    // development): a Bearer token over plain http is readable by anyone on the path (RFC 6750 §5.3), and
    // config.ts refuses an http resource server in production.
    this.httpOptions = this.base.startsWith('http:') ? { [oauth.allowInsecureRequests]: true } : {};
  }

  /** GETs `path` with the token; returns the successful response or throws a typed error. */
  async get(
    accessToken: string,
    path: string,
    accept = 'application/json',
    recorder?: FlowRecorder,
  ): Promise<Response> {
    const url = new URL(this.base + path);
    const trace = recordApiRequest(recorder, 'GET', url.href, accessToken);
    // x-request-id: the RS logs this call under the same reqId as the page request that caused it.
    const headers = new Headers({ accept, ...requestIdHeaders() });
    if (trace) headers.set('traceparent', trace);
    let response: Response;
    try {
      response = await oauth.protectedResourceRequest(accessToken, 'GET', url, headers, null, {
        ...this.httpOptions,
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
    } catch (err) {
      if (err instanceof oauth.WWWAuthenticateChallengeError) {
        const challenge = err.response.headers.get('www-authenticate');
        recordApiResponse(recorder, url.pathname, err.status, {
          ...parseBearerChallenge(challenge),
          wwwAuthenticate: challenge,
        });
        throw this.fromChallenge(err);
      }
      if (isNetworkError(err)) throw new UpstreamUnavailableError('resource server', err);
      throw err;
    }
    recordApiResponse(recorder, url.pathname, response.status);
    if (response.ok) return response;
    await response.body?.cancel();
    // Without a WWW-Authenticate header (already handled above) a 401 still means the token did not work.
    if (response.status === 401) throw new TokenRejectedError(undefined);
    if (response.status === 403) throw new InsufficientScopeError(undefined);
    if (response.status === 404) throw new ResourceNotFoundError();
    if (response.status >= 500)
      throw new UpstreamUnavailableError('resource server', new Error(`status ${response.status}`));
    throw new ResourceResponseError(response.status);
  }

  private fromChallenge(err: oauth.WWWAuthenticateChallengeError): Error {
    void err.response.body?.cancel();
    const bearer = err.cause.find((c) => c.scheme === 'bearer') ?? err.cause[0];
    const params = bearer?.parameters ?? {};
    if (err.status === 403 || params.error === 'insufficient_scope') return new InsufficientScopeError(params.scope);
    if (err.status === 401) return new TokenRejectedError(params.error_description);
    if (err.status >= 500) return new UpstreamUnavailableError('resource server', err);
    return new ResourceResponseError(err.status);
  }

  private async json<T>(accessToken: string, path: string, recorder?: FlowRecorder): Promise<T> {
    const response = await this.get(accessToken, path, 'application/json', recorder);
    try {
      return (await response.json()) as T;
    } catch {
      throw new ResourceResponseError(response.status);
    }
  }

  async listPhotos(accessToken: string, recorder?: FlowRecorder): Promise<Photo[]> {
    const body = await this.json<{ photos?: Photo[] }>(accessToken, '/photos', recorder);
    if (!Array.isArray(body.photos)) throw new ResourceResponseError(200);
    return body.photos;
  }

  /** The image bytes, as a streaming response whose Content-Type the caller must check. */
  photoImage(accessToken: string, id: string, recorder?: FlowRecorder): Promise<Response> {
    return this.get(accessToken, `/photos/${encodeURIComponent(id)}/image`, 'image/*', recorder);
  }

  async listDocuments(accessToken: string, recorder?: FlowRecorder): Promise<DocumentSummary[]> {
    const body = await this.json<{ documents?: DocumentSummary[] }>(accessToken, '/documents', recorder);
    if (!Array.isArray(body.documents)) throw new ResourceResponseError(200);
    return body.documents;
  }

  getDocument(accessToken: string, id: string, recorder?: FlowRecorder): Promise<DocumentDetail> {
    return this.json<DocumentDetail>(accessToken, `/documents/${encodeURIComponent(id)}`, recorder);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    resourceApi: ResourceApi;
  }
}

async function resourceApiPlugin(app: FastifyInstance) {
  app.decorate('resourceApi', new ResourceApi(app.config));
}

export default fp(resourceApiPlugin, { name: 'resource-api', dependencies: ['config'] });
