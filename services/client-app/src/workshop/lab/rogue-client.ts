// The lab's DELIBERATELY MISBEHAVING client: raw fetch calls (oauth4webapi would refuse to misbehave) to the
// authorization server's token and introspection endpoints (authenticated as the app: client_secret_basic, RFC 6749
// §2.3.1, or private_key_jwt, RFC 7523 §2.2) and Bearer
// (or DPoP, RFC 9449 §7.1, with the proofs the switch chose) calls to the resource server (RFC 6750 §2.1), each recorded in the run's flow with its traceparent. Answers
// are read, shown and returned, never trusted; an unreachable server or a 5xx is an outage, not an answer.
import type * as oauth from 'oauth4webapi';
import { requestIdHeaders } from '@quartet/common';
import type { Config } from '../../config.js';
import type { AssertionShown } from '../../oauth/events.js';
import { parseBearerChallenge } from '../../oauth/bearer-challenge.js';
import { UpstreamUnavailableError } from '../../oauth/errors.js';
import type { FlowRecorder } from '../inspector/store.js';
import {
  recordAccessToken,
  recordApiRequest,
  recordApiResponse,
  recordFormRequest,
  recordDpopProof,
  recordJsonResponse,
} from '../inspector/record.js';
import { proofThumbprint } from '../../oauth/dpop.js';
import { newState } from './forge.js';
import type { TokenPool } from './token-pool.js';

const TIMEOUT_MS = 5000;

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown> | null;
  /** The DPoP-Nonce header of the answer (RFC 9449 §8), if any. */
  dpopNonce?: string;
}

export interface ApiAnswer {
  status: number;
  error?: string | undefined;
  description?: string | undefined;
  /** The DPoP-Nonce header of the answer (RFC 9449 §9), if any. */
  dpopNonce?: string;
}

/** The DPoP side of a lab request: the proof header to send (RFC 9449 §4.1), and the scheme for a token. */
export interface LabDpop {
  proof?: string;
  scheme?: 'Bearer' | 'DPoP';
}

/** How the rogue client authenticates as the app: the app's own method (OAuthClient implements it). */
export interface ClientCredentials {
  /** Adds the app's client authentication to a form request: a Basic header, or an assertion in the body. */
  authenticate(headers: Headers, body: URLSearchParams): Promise<void>;
  /** Set with private_key_jwt: what the inspector shows of the assertion. */
  readonly assertion: AssertionShown | undefined;
}

export const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** An OAuth JSON error answer's status, error and error_description (RFC 6749 §5.2), as observations take them. */
export function errorOf(answer: HttpAnswer): ApiAnswer {
  return { status: answer.status, error: str(answer.body?.error), description: str(answer.body?.error_description) };
}

/** A JSON object body, or null for an empty, non-JSON or non-object body (the answer is shown, never trusted). */
function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export class RogueClient {
  constructor(
    private readonly config: Config,
    readonly as: oauth.AuthorizationServer,
    private readonly redirectUri: string,
    private readonly recorder: FlowRecorder,
    private readonly pool: TokenPool,
    /** The app's own client authentication (client_secret_basic, or private_key_jwt with CLIENT_PRIVATE_KEY). */
    private readonly credentials: ClientCredentials,
  ) {}

  /** An authorization request (RFC 6749 §4.1.1); an override of null leaves that parameter out. */
  authorizationUrl(overrides: Record<string, string | null>): URL {
    const url = new URL(this.as.authorization_endpoint!);
    const params: Record<string, string | null> = {
      response_type: 'code',
      client_id: this.config.CLIENT_ID,
      redirect_uri: this.redirectUri,
      scope: this.config.SCOPES,
      state: newState(),
      ...overrides,
    };
    for (const [k, v] of Object.entries(params)) if (v !== null) url.searchParams.set(k, v);
    return url;
  }

  /**
   * A client-authenticated form POST to the AS; a token it yields is decoded in the flow and pooled. With
   * `publicClient` it is a public client's request instead (a device, RFC 8628 §3.1): no Authorization header,
   * the client_id in `params`.
   */
  async formPost(
    endpoint: string | undefined,
    title: string,
    responseTitle: string,
    params: Record<string, string>,
    { publicClient = false, dpop }: { publicClient?: boolean; dpop?: string } = {},
  ): Promise<HttpAnswer> {
    if (!endpoint) throw new UpstreamUnavailableError('authorization server', new Error(`no endpoint for ${title}`));
    const clientId = publicClient ? null : this.config.CLIENT_ID;
    const header = recordFormRequest(
      this.recorder,
      title,
      endpoint,
      clientId,
      params,
      undefined,
      this.credentials.assertion,
    )!;
    if (dpop) await this.recordProof('authorization server', dpop);
    const headers = new Headers({
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      traceparent: header,
      ...(dpop ? { dpop } : {}),
      ...requestIdHeaders(),
    });
    const form = new URLSearchParams(params);
    if (!publicClient) await this.credentials.authenticate(headers, form);
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers,
        body: form.toString(),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new UpstreamUnavailableError('authorization server', err);
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      throw new UpstreamUnavailableError('authorization server', new Error(`${endpoint} answered ${response.status}`));
    }
    const body = parseJsonObject(await response.text());
    recordJsonResponse(this.recorder, responseTitle, response.status, body);
    const accessToken = str(body?.access_token);
    if (response.ok && accessToken) {
      recordAccessToken(this.recorder, accessToken, undefined, dpop ? await proofThumbprint(dpop) : undefined);
      this.pool.add(accessToken);
    }
    const dpopNonce = response.headers.get('dpop-nonce');
    return { status: response.status, body, ...(dpopNonce ? { dpopNonce } : {}) };
  }

  /** Shows a proof the lab sends: decoded, with its key's thumbprint (and the token's cnf.jkt). */
  private async recordProof(to: 'authorization server' | 'resource server', proof: string, accessToken?: string) {
    recordDpopProof(this.recorder, to, proof, await proofThumbprint(proof), accessToken);
  }

  private token(title: string, params: Record<string, string>): Promise<HttpAnswer> {
    return this.formPost(this.as.token_endpoint, title, 'Token response', params);
  }

  /** The authorization_code grant (RFC 6749 §4.1.3) with whatever verifier the switch chose. */
  redeem(
    params: URLSearchParams,
    verifier: string,
    title = 'Token request (authorization_code grant)',
    extra: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    return this.token(title, {
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: this.redirectUri,
      code_verifier: verifier,
      ...extra,
    });
  }

  /** The refresh_token grant (RFC 6749 §6). */
  refresh(refreshToken: string, title: string): Promise<HttpAnswer> {
    return this.token(title, { grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  /** A Bearer GET to the resource server; the refusal read from the body or the challenge (RFC 6750 §3). */
  async api(accessToken: string, path: string, note: string, dpop: LabDpop = {}): Promise<ApiAnswer> {
    const url = `${this.config.RESOURCE_SERVER}${path}`;
    const scheme = dpop.scheme ?? 'Bearer';
    this.recorder.record({ role: 'client', title: note, outcome: 'info' });
    const header = recordApiRequest(this.recorder, 'GET', url, accessToken, undefined, scheme)!;
    if (dpop.proof) await this.recordProof('resource server', dpop.proof, accessToken);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: {
          authorization: `${scheme} ${accessToken}`,
          ...(dpop.proof ? { dpop: dpop.proof } : {}),
          accept: 'application/json',
          traceparent: header,
          ...requestIdHeaders(),
        },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new UpstreamUnavailableError('resource server', err);
    }
    const challenge = response.headers.get('www-authenticate');
    const body = parseJsonObject(await response.text());
    const fromChallenge = parseBearerChallenge(challenge);
    const error = response.ok ? undefined : (str(body?.error) ?? fromChallenge.error);
    const description = response.ok ? undefined : (str(body?.error_description) ?? fromChallenge.description);
    recordApiResponse(
      this.recorder,
      path,
      response.status,
      response.ok ? undefined : { error, description, wwwAuthenticate: challenge },
    );
    const dpopNonce = response.headers.get('dpop-nonce');
    return { status: response.status, error, description, ...(dpopNonce ? { dpopNonce } : {}) };
  }
}
