// Test helpers: builds the client app against the session store of this run (a fresh key prefix on the real
// Redis when TEST_REDIS_URL is set, else the app's own in-process store), with small REAL HTTP servers playing
// the authorization server (metadata, token endpoint with the authorization_code and rotating refresh_token
// grants, RFC 7009 revocation endpoint; every call recorded) and the resource server
// (Bearer-protected /photos, /documents), and a browser over app.inject (@quartet/common's UserAgent).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { UserAgent, formFor, loggerOptions, type Transport } from '@quartet/common';
import { TEST_TRACE_SECRET, createRedisPrefix } from '@quartet/testing';
import { buildApp } from '../src/app.js';
import { readConfig, type Config } from '../src/config.js';
import { boundAccessToken, dpopServerSide, type DpopServerSide } from './fixtures/dpop.js';
import { listen } from './fixtures/http.js';

interface Tap {
  teardown(fn: () => unknown): void;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export interface TokenCall {
  authorization: string | undefined;
  /** W3C traceparent sent with the call (workshop mode only). */
  traceparent: string | undefined;
  /** x-request-id sent with the call: the id of the client app's request that made it. */
  requestId: string | undefined;
  contentType: string | undefined;
  params: URLSearchParams;
  /** The DPoP header (RFC 9449 §4.1), if any. */
  dpop: string | undefined;
}

export interface FakeAuthorizationServer {
  url: string;
  issuer: string;
  tokenCalls: TokenCall[];
  /** Calls to POST /oauth/revoke (RFC 7009). */
  revokeCalls: TokenCall[];
  issuedTokens: Set<string>;
  /** Every refresh token issued, in order. */
  issuedRefreshTokens: string[];
  /** Refresh tokens that still work: one is spent by use (rotation) or by revocation. */
  validRefreshTokens: Set<string>;
  /** Whether token responses carry a refresh_token (default true, like the real AS for demo-client). */
  issueRefreshTokens: boolean;
  /** expires_in of issued access tokens (default 300). */
  expiresIn: number;
  /** Delay before the token endpoint answers, to make concurrent requests overlap. */
  tokenDelayMs: number;
  /** Replaces the token endpoint's answer (status + JSON body) for the next calls. */
  tokenResponse: { status: number; body: Record<string, unknown>; headers?: Record<string, string> } | null;
  /** Replaces the revocation endpoint's answer (default 200, empty body). */
  revokeResponse: { status: number; body: Record<string, unknown> } | null;
  /** Whether the metadata advertises revocation_endpoint (default true). */
  advertiseRevocation: boolean;
  /** Whether the metadata advertises end_session_endpoint (default true). */
  advertiseEndSession: boolean;
  metadataRequests: number;
  /** x-request-id of every request the fake AS received, in order (metadata, token, revoke). */
  requestIds: (string | undefined)[];
  /** Calls to POST /oauth/par (RFC 9126 §2.1). */
  parCalls: TokenCall[];
  /** Pushed requests by request_uri (RFC 9126 §2.2): taken once by `takePushed`. */
  pushed: Map<string, URLSearchParams>;
  /** Whether the metadata advertises pushed_authorization_request_endpoint (default true). */
  advertisePar: boolean;
  /** Replaces the PAR endpoint's answer. */
  parResponse: { status: number; body: Record<string, unknown> } | null;
  /** The token endpoint's DPoP checks (RFC 9449 §4.3, §8). */
  dpop: DpopServerSide;
  /** cnf.jkt of each DPoP-bound access token, and the key each refresh token is bound to (§5, public clients). */
  tokenJkt: Map<string, string>;
  refreshJkt: Map<string, string>;
  close(): Promise<void>;
}

/** The RFC 6749 §2.3.1 Basic credentials the app must send (oauth4webapi form-urlencodes both parts first). */
export function decodeBasic(header: string | undefined): [string | undefined, string | undefined] {
  const basic = /^Basic (.+)$/.exec(header ?? '')?.[1];
  const [id, secret] = Buffer.from(basic ?? '', 'base64')
    .toString()
    .split(':')
    .map((s) => decodeURIComponent(s));
  return [id, secret];
}

export async function startFakeAuthorizationServer(port = 0): Promise<FakeAuthorizationServer> {
  const fake = {
    tokenCalls: [] as TokenCall[],
    revokeCalls: [] as TokenCall[],
    issuedTokens: new Set<string>(),
    issuedRefreshTokens: [] as string[],
    validRefreshTokens: new Set<string>(),
    issueRefreshTokens: true,
    expiresIn: 300,
    tokenDelayMs: 0,
    tokenResponse: null as FakeAuthorizationServer['tokenResponse'],
    revokeResponse: null as FakeAuthorizationServer['revokeResponse'],
    advertiseRevocation: true,
    advertiseEndSession: true,
    metadataRequests: 0,
    requestIds: [] as (string | undefined)[],
    parCalls: [] as TokenCall[],
    pushed: new Map<string, URLSearchParams>(),
    advertisePar: true,
    parResponse: null as FakeAuthorizationServer['parResponse'],
    dpop: dpopServerSide(),
    tokenJkt: new Map<string, string>(),
    refreshJkt: new Map<string, string>(),
  };
  let issuer = '';
  let counter = 0;
  const random = () => `${++counter}-${Math.random().toString(36).slice(2)}`;
  /** RFC 6749 §4.1.3 / §6, with DPoP (RFC 9449 §5, §8) when the request carries a proof. */
  async function tokenEndpoint(req: IncomingMessage, recorded: TokenCall, res: ServerResponse): Promise<void> {
    let jkt: string | undefined;
    if (recorded.dpop !== undefined && !fake.tokenResponse) {
      const checked = await fake.dpop.check(req, `${issuer}/oauth/token`);
      if ('error' in checked)
        return json(
          res,
          400,
          { error: checked.error, error_description: checked.description },
          checked.nonce ? { 'dpop-nonce': checked.nonce } : {},
        );
      jkt = checked.proof.jkt;
    }

    // Processed at once (rotation happens now, like a real AS); only the answer is delayed by tokenDelayMs.
    const answer = ((): [number, Record<string, unknown>] => {
      if (fake.tokenResponse) return [fake.tokenResponse.status, fake.tokenResponse.body];
      if (recorded.params.get('grant_type') === 'refresh_token') {
        // Rotation (RFC 9700 §4.14.2): the presented token is spent whether or not it was still good.
        const presented = recorded.params.get('refresh_token') ?? '';
        // RFC 9449 §5: a DPoP-bound refresh token works only with a proof of the same key.
        const boundTo = fake.refreshJkt.get(presented);
        if (boundTo !== undefined && boundTo !== jkt)
          return [400, { error: 'invalid_grant', error_description: 'The refresh token is bound to another key.' }];
        if (!fake.validRefreshTokens.delete(presented)) {
          return [
            400,
            { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' },
          ];
        }
      }
      const accessToken = jkt ? boundAccessToken(jkt, random()) : `fake-access-token-${random()}`;
      fake.issuedTokens.add(accessToken);
      if (jkt) fake.tokenJkt.set(accessToken, jkt);
      const refreshToken = fake.issueRefreshTokens ? `fake-refresh-token-${random()}` : undefined;
      if (refreshToken) {
        fake.issuedRefreshTokens.push(refreshToken);
        fake.validRefreshTokens.add(refreshToken);
        if (jkt) fake.refreshJkt.set(refreshToken, jkt);
      }
      return [
        200,
        {
          access_token: accessToken,
          // RFC 9449 §5.1: a token bound to the proof's key is of type DPoP.
          token_type: jkt ? 'DPoP' : 'Bearer',
          expires_in: fake.expiresIn,
          scope: 'photos:read documents:read',
          ...(refreshToken ? { refresh_token: refreshToken } : {}),
        },
      ];
    })();
    const headers = { 'cache-control': 'no-store', ...fake.tokenResponse?.headers };
    const send = () => json(res, answer[0], answer[1], headers);
    if (fake.tokenDelayMs > 0) setTimeout(send, fake.tokenDelayMs);
    else send();
  }

  const { server, url } = await listen((req, res, body) => {
    const path = (req.url ?? '').split('?')[0];
    const requestId = req.headers['x-request-id'] as string | undefined;
    fake.requestIds.push(requestId);
    const call = () => ({
      authorization: req.headers.authorization,
      traceparent: req.headers.traceparent as string | undefined,
      requestId,
      contentType: req.headers['content-type'],
      params: new URLSearchParams(body),
      dpop: req.headers.dpop as string | undefined,
    });
    if (req.method === 'GET' && path === '/.well-known/oauth-authorization-server') {
      fake.metadataRequests++;
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/oauth/token`,
        ...(fake.advertiseRevocation ? { revocation_endpoint: `${issuer}/oauth/revoke` } : {}),
        ...(fake.advertiseEndSession ? { end_session_endpoint: `${issuer}/interaction/logout` } : {}),
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
        authorization_response_iss_parameter_supported: true,
        ...(fake.advertisePar ? { pushed_authorization_request_endpoint: `${issuer}/oauth/par` } : {}),
        dpop_signing_alg_values_supported: ['ES256', 'EdDSA', 'PS256'],
      });
    }
    if (req.method === 'POST' && path === '/oauth/par') {
      const recorded = call();
      fake.parCalls.push(recorded);
      if (fake.parResponse) return json(res, fake.parResponse.status, fake.parResponse.body);
      // RFC 9126 §2.1: the client authenticates as at the token endpoint.
      const [id, secret] = decodeBasic(recorded.authorization);
      if (id !== 'demo-client' || secret !== 'demo-client-secret')
        return json(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="quartet"' });
      // §2.1: request_uri is not allowed in a pushed request.
      if (recorded.params.has('request_uri')) return json(res, 400, { error: 'invalid_request' });
      const requestUri = `urn:ietf:params:oauth:request_uri:${random()}`;
      fake.pushed.set(requestUri, recorded.params);
      // §2.2: 201 Created, request_uri and expires_in.
      return json(res, 201, { request_uri: requestUri, expires_in: 60 }, { 'cache-control': 'no-store' });
    }
    if (req.method === 'POST' && path === '/oauth/token') {
      const recorded = call();
      fake.tokenCalls.push(recorded);
      void tokenEndpoint(req, recorded, res);
      return;
    }
    if (req.method === 'POST' && path === '/oauth/revoke') {
      const recorded = call();
      fake.revokeCalls.push(recorded);
      if (fake.revokeResponse) return json(res, fake.revokeResponse.status, fake.revokeResponse.body);
      // RFC 7009 §2.2: 200 whether or not the token was valid.
      fake.validRefreshTokens.delete(recorded.params.get('token') ?? '');
      res.writeHead(200);
      return res.end();
    }
    json(res, 404, { error: 'not_found' });
  }, port);
  issuer = url;
  return Object.assign(fake, { url, issuer, close: () => close(server) });
}

export const PNG_BYTES = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

export interface FakeResourceServer {
  url: string;
  /** 'ok' | 'revoked' (401 invalid_token) | 'no-scope' (403 insufficient_scope) | 'down' (500). */
  mode: 'ok' | 'revoked' | 'no-scope' | 'down';
  authorizations: (string | undefined)[];
  traceparents: (string | undefined)[];
  /** x-request-id of every request the fake RS received, in order. */
  requestIds: (string | undefined)[];
  /** The RS's DPoP checks (RFC 9449 §7.1, §9): proofs received, nonce refusals. */
  dpop: DpopServerSide;
  close(): Promise<void>;
}

export async function startFakeResourceServer(as: FakeAuthorizationServer): Promise<FakeResourceServer> {
  const fake = {
    mode: 'ok' as FakeResourceServer['mode'],
    authorizations: [] as (string | undefined)[],
    traceparents: [] as (string | undefined)[],
    requestIds: [] as (string | undefined)[],
    dpop: dpopServerSide(),
  };
  let base = '';
  /**
   * RFC 9449 §7.1: a DPoP-bound token only as `Authorization: DPoP` with a proof of its key carrying its
   * hash; anything else is 401 with a DPoP challenge (and a nonce when one is required, §9). null: go on.
   */
  async function dpopRefusal(req: IncomingMessage, scheme: string, token: string) {
    const jkt = as.tokenJkt.get(token);
    if (jkt === undefined)
      return scheme === 'Bearer' ? null : { error: 'invalid_token', description: 'not a DPoP token' };
    if (scheme !== 'DPoP') return { error: 'invalid_token', description: 'A DPoP-bound token needs a DPoP proof.' };
    const path = (req.url ?? '').split('?')[0];
    const checked = await fake.dpop.check(req, `${base}${path}`, { accessToken: token, expectedJkt: jkt });
    return 'error' in checked ? checked : null;
  }
  const { server, url } = await listen(async (req, res) => {
    fake.authorizations.push(req.headers.authorization);
    fake.traceparents.push(req.headers.traceparent as string | undefined);
    fake.requestIds.push(req.headers['x-request-id'] as string | undefined);
    const [, scheme = '', token] = /^(Bearer|DPoP) (.+)$/.exec(req.headers.authorization ?? '') ?? [];
    const refusal = token && as.issuedTokens.has(token) ? await dpopRefusal(req, scheme, token) : null;
    if (refusal) {
      const given = (refusal as { nonce?: string }).nonce;
      const nonce: Record<string, string> = given ? { 'dpop-nonce': given } : {};
      return json(
        res,
        401,
        { error: refusal.error, error_description: refusal.description },
        { 'www-authenticate': `DPoP error="${refusal.error}", algs="ES256 EdDSA PS256"`, ...nonce },
      );
    }
    if (!token || !as.issuedTokens.has(token) || fake.mode === 'revoked') {
      return json(
        res,
        401,
        { error: 'invalid_token', error_description: 'The access token is invalid or expired.' },
        {
          'www-authenticate':
            'Bearer realm="quartet", error="invalid_token", error_description="The access token is invalid or expired."',
        },
      );
    }
    if (fake.mode === 'no-scope') {
      return json(
        res,
        403,
        { error: 'insufficient_scope', error_description: 'Requires photos:read.' },
        {
          'www-authenticate': 'Bearer realm="quartet", error="insufficient_scope", scope="photos:read"',
        },
      );
    }
    if (fake.mode === 'down') return json(res, 500, { error: 'server_error' });
    const path = (req.url ?? '').split('?')[0];
    if (path === '/photos') {
      return json(res, 200, {
        photos: [
          {
            id: 'p1',
            title: 'Tea party <at the hare>',
            contentType: 'image/png',
            createdAt: '2026-01-01T00:00:00Z',
            imageUrl: '/photos/p1/image',
          },
          {
            id: 'p2',
            title: 'Cheshire cat',
            contentType: 'image/png',
            createdAt: '2026-01-02T00:00:00Z',
            imageUrl: '/photos/p2/image',
          },
        ],
      });
    }
    if (path === '/photos/p1/image') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(PNG_BYTES.length) });
      return res.end(PNG_BYTES);
    }
    if (path === '/photos/evil/image') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<script>alert(1)</script>');
    }
    if (path === '/documents') {
      return json(res, 200, {
        documents: [{ id: 'd1', title: 'Letter to the Queen', createdAt: '2026-01-03T00:00:00Z' }],
      });
    }
    if (path === '/documents/d1') {
      return json(res, 200, {
        id: 'd1',
        title: 'Letter to the Queen',
        content: 'Dear Majesty,\n<b>off with</b> nothing.',
        createdAt: '2026-01-03T00:00:00Z',
      });
    }
    json(res, 404, { error: 'not_found', error_description: 'No such item.' });
  });
  base = url;
  return Object.assign(fake, { url, close: () => close(server) });
}

export interface TestContext {
  app: FastifyInstance;
  config: Config;
  as: FakeAuthorizationServer;
  rs: FakeResourceServer;
  /** JSON log lines of the app (only with `captureLogs`; the production logger options, at info). */
  logs: string[];
  browser(): Browser;
}

export interface TestAppOptions {
  captureLogs?: boolean;
  /** Log level of the captured logs (default info). */
  logLevel?: string;
}

/** Builds the app with fake AS/RS and this run's session store; everything is closed in teardown. */
export async function buildTestApp(
  t: Tap,
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<TestContext> {
  const as = await startFakeAuthorizationServer();
  const rs = await startFakeResourceServer(as);
  const redis = createRedisPrefix('client-app');
  const config = readConfig({
    AUTHORIZATION_SERVER: as.url,
    RESOURCE_SERVER: rs.url,
    // { REDIS_URL, REDIS_PREFIX } against a real Redis, {} (REDIS_URL unset: in-process store) otherwise.
    ...redis.env,
    LOG_LEVEL: 'silent',
    // Read only in workshop mode, where it is required.
    WORKSHOP_TRACE_SECRET: TEST_TRACE_SECRET,
    ...env,
  });
  const logs: string[] = [];
  const logger = options.captureLogs
    ? {
        ...(loggerOptions('client-app', options.logLevel ?? 'info') as object),
        stream: { write: (line: string) => void logs.push(line) },
      }
    : false;
  const app = await buildApp(config, { logger });
  t.teardown(async () => {
    await app.close();
    await as.close();
    await rs.close();
    await redis.cleanup();
  });
  return { app, config, as, rs, logs, browser: () => new Browser(app) };
}

/** Where the tests' browser believes the app is (the default PUBLIC_URL): it scopes the cookies. */
export const APP_URL = 'http://localhost:3000';

/** @quartet/common's UserAgent over app.inject: the app answers without a socket. */
export function injectTransport(app: FastifyInstance): Transport<LightMyRequestResponse> {
  return async ({ method, url, headers, body }) => {
    const { pathname, search } = new URL(url);
    const res = await app.inject({
      method: method as 'GET' | 'POST',
      url: pathname + search,
      headers,
      ...(body !== undefined ? { payload: body } : {}),
    });
    return { status: res.statusCode, headers: res.headers, body: res.body, raw: res };
  };
}

/**
 * A browser for the app: @quartet/common's UserAgent (a tough-cookie jar with the browser's rules) over
 * app.inject; get/post answer the light-my-request response, so tests read statusCode, headers and body.
 */
export class Browser {
  readonly agent: UserAgent<LightMyRequestResponse>;

  constructor(app: FastifyInstance) {
    this.agent = new UserAgent({ transport: injectTransport(app), baseUrl: APP_URL });
  }

  /** The cookie this browser would send to the app (undefined when it holds none). */
  cookie(name: string): string | undefined {
    return this.agent.cookie(name);
  }

  /** Plants a cookie, as if the app had set it. */
  setCookie(name: string, value: string): void {
    this.agent.setCookie(`${name}=${value}; Path=/`);
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return (await this.agent.get(url, { headers })).raw!;
  }

  async post(
    url: string,
    form: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    return (await this.agent.post(url, form, { headers })).raw!;
  }

  /** Submits the page's form posting to `path` (its hidden fields, the CSRF token among them). */
  async submit(page: LightMyRequestResponse, path: string, values: Record<string, string> = {}) {
    const form = formFor({ status: page.statusCode, url: APP_URL, body: page.body }, path);
    return (await this.agent.submit(form, values)).raw!;
  }
}

/** The CSRF token of the page's form posting to `path` (e.g. the logout form of the navigation). */
export function csrfOf(page: LightMyRequestResponse, path = '/logout'): string {
  const token = formFor({ status: page.statusCode, url: APP_URL, body: page.body }, path).fields._csrf;
  if (!token) throw new Error(`no CSRF token in the form posting to ${path}`);
  return token;
}

/** Starts a flow with GET /connect and returns the state and the authorize URL the app redirected to. */
export async function startFlow(browser: Browser): Promise<{ state: string; authorize: URL }> {
  const res = await browser.get('/connect');
  if (res.statusCode !== 303) throw new Error(`/connect answered ${res.statusCode}`);
  const authorize = new URL(res.headers.location as string);
  return { state: authorize.searchParams.get('state') as string, authorize };
}

/** The query of a successful authorization response from the fake AS. */
export function callbackUrl(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  return `/callback?${q.toString()}`;
}

/** Runs the whole flow and returns the browser, connected. */
export async function connect(ctx: TestContext): Promise<Browser> {
  const browser = ctx.browser();
  const { state, authorize } = await startFlow(browser);
  // USE_PAR: the state is in the pushed request, the browser only carries its request_uri (RFC 9126 §4).
  const requestUri = authorize.searchParams.get('request_uri');
  const pushedState = requestUri ? ctx.as.pushed.get(requestUri)?.get('state') : undefined;
  const res = await browser.get(callbackUrl({ code: 'good-code', state: pushedState ?? state, iss: ctx.as.issuer }));
  if (res.statusCode !== 303) throw new Error(`/callback answered ${res.statusCode}: ${res.body}`);
  return browser;
}
