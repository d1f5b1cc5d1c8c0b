// Workshop lab, "break it, fix it": switches that make the client misbehave the way real clients do, each run
// server-side by the client app acting as a DELIBERATELY MISBEHAVING client with raw fetch calls (oauth4webapi
// would refuse to misbehave), playing the resource owner's browser with LabBrowser. Each switch names the
// attack its misbehaviour enables and the defence that stops it, and checks the defence's actual answer:
//   - RFC 7636 §4.3/§4.6, RFC 9700 §2.1.1: PKCE required, S256 only, verifier checked at the token endpoint;
//   - RFC 6749 §10.12, RFC 9700 §4.7: CSRF / code injection, stopped by PKCE even without (or with a reused) state;
//   - RFC 9207: the iss check against mix-up;  RFC 6749 §3.1.2 / RFC 9700 §2.1: exact redirect URI matching;
//   - RFC 6749 §4.1.2: code replay revokes the tokens of the first redemption (checked with RFC 7662);
//   - RFC 9700 §4.14.2: refresh token reuse revokes the family;
//   - RFC 8707 + RFC 9068 §4: audience, expiry, algorithm allow-list and signature at the resource server;
//   - RFC 6750 §3.1: insufficient_scope.
// Every run is a flow in the inspector (with its traceparent); its outcome is kept with the flow.
import { randomBytes, createHash } from 'node:crypto';
import type * as oauth from 'oauth4webapi';
import { requestIdHeaders } from '@quartet/common';
import type { Config } from '../config.js';
import { redirectUri } from '../config.js';
import { PageError, UpstreamUnavailableError, isNetworkError } from '../errors.js';
import type { OAuthClient } from '../plugins/oauth-client.js';
import {
  authorizationRequestSections,
  callbackSections,
  decodeJwt,
  parseBearerChallenge,
  recordAccessToken,
  recordApiRequest,
  recordApiResponse,
  recordFormRequest,
  recordJsonResponse,
  shorten,
  type FlowRecorder,
  type LabObservation,
  type LabOutcome,
  type Role,
} from './inspector.js';
import { LabBrowser, type AuthorizeOutcome } from './lab-agent.js';

const TIMEOUT_MS = 5000;
/** How many genuine access tokens the lab keeps for the "expired token" switch. */
const POOL_SIZE = 50;

export interface LabSwitch {
  id: string;
  title: string;
  /** What the misbehaving client does. */
  misbehaviour: string;
  /** The attack this misbehaviour enables. */
  attack: string;
  /** The defence that stops it. */
  defence: string;
  /** The expected result, in words. */
  expected: string;
}

export const LAB_SWITCHES: readonly LabSwitch[] = [
  {
    id: 'no-pkce',
    title: 'Send no PKCE challenge',
    misbehaviour: 'The authorization request carries no code_challenge.',
    attack:
      'Authorization code interception: whoever steals the code from the redirect (a malicious app on the same device, a leaked log or Referer) can redeem it.',
    defence: 'The authorization server requires PKCE from every client (RFC 9700 §2.1.1, OAuth 2.1).',
    expected: 'The authorization server redirects back with error=invalid_request; no code is issued.',
  },
  {
    id: 'plain-pkce',
    title: 'Use PKCE method "plain"',
    misbehaviour: 'code_challenge_method=plain: the challenge IS the verifier.',
    attack:
      'The verifier travels in the front channel (the address bar, history, logs): whoever sees the authorization request can redeem the code.',
    defence: 'The authorization server accepts S256 only (RFC 9700 §2.1.1).',
    expected: 'The authorization server redirects back with error=invalid_request.',
  },
  {
    id: 'wrong-verifier',
    title: 'Redeem the code with a wrong verifier',
    misbehaviour: 'The token request sends a code_verifier that does not match the challenge.',
    attack: 'This is what an attacker who intercepted the code looks like: they have the code, but not the verifier.',
    defence: 'The authorization server hashes the verifier and compares it with the stored challenge (RFC 7636 §4.6).',
    expected: 'The token endpoint answers 400 invalid_grant.',
  },
  {
    id: 'drop-state',
    title: 'Drop state',
    misbehaviour: 'The client sends no state and accepts any callback.',
    attack:
      "CSRF / code injection: the attacker (bob) gets a code for HIS account and makes the victim's browser deliver it to the client, which would then show bob's photos as the victim's (and store the victim's uploads in bob's account).",
    defence:
      "PKCE: bob's code is bound to bob's challenge, and the client redeems it with the victim's verifier (RFC 9700 §4.7.1) — so even without state the injection fails.",
    expected: "bob's injected code is refused at the token endpoint with 400 invalid_grant.",
  },
  {
    id: 'reuse-state',
    title: 'Reuse state',
    misbehaviour: 'The client uses the same state for every flow, so an attacker knows it.',
    attack:
      'Same CSRF / code injection as above: the forged callback carries the known state and passes the state check.',
    defence: "PKCE again: the victim's verifier does not match bob's challenge.",
    expected: "bob's injected code is refused at the token endpoint with 400 invalid_grant.",
  },
  {
    id: 'wrong-iss',
    title: 'Accept a response with a wrong iss',
    misbehaviour:
      "The lab rewrites the authorization response's iss, as a mix-up attacker would; a client that skips the check would go on.",
    attack:
      'Mix-up: a client talking to several authorization servers sends the code (and its credentials) to the wrong one, controlled by the attacker.',
    defence: 'The client checks iss against the issuer it sent the user to (RFC 9207 §2.4) before any token request.',
    expected: "The client's own RFC 9207 check rejects the response; no token request is made.",
  },
  {
    id: 'redirect-uri-off-by-one',
    title: 'Use a redirect URI that differs by one character',
    misbehaviour: 'The redirect_uri differs from the registered one by its last character.',
    attack:
      'Loose matching (prefixes, wildcards) lets an attacker receive codes at a URI they control (RFC 9700 §4.1).',
    defence:
      'Exact string matching of redirect URIs; the AS never redirects to an unverified URI (RFC 6749 §4.1.2.1, RFC 9700 §2.1).',
    expected: 'The authorization server shows an error page (400) and never redirects.',
  },
  {
    id: 'code-twice',
    title: 'Redeem the same code twice',
    misbehaviour: 'The client sends the same authorization code to the token endpoint twice.',
    attack: 'Code replay: a stolen, already used code must not give a second set of tokens.',
    defence:
      'Codes are single-use; a second redemption also revokes the tokens issued for the first (RFC 6749 §4.1.2).',
    expected:
      'Second redemption: 400 invalid_grant; introspection of the first access token: active false; its refresh token: 400 invalid_grant.',
  },
  {
    id: 'refresh-reuse',
    title: 'Reuse an old refresh token',
    misbehaviour: 'After a refresh, the client presents the previous (rotated) refresh token again.',
    attack: 'A stolen refresh token used by the thief and by the legitimate client: one of them is replaying.',
    defence: 'Refresh token rotation with reuse detection: the reuse revokes the whole family (RFC 9700 §4.14.2).',
    expected: 'The old refresh token: 400 invalid_grant; the new one is dead too: 400 invalid_grant.',
  },
  {
    id: 'other-audience',
    title: 'Call the API with a token for another audience',
    misbehaviour: 'The client obtains a token for another resource server (RFC 8707 resource) and sends it to ours.',
    attack: 'A token leaked by (or stolen from) one API is replayed at another.',
    defence: 'The resource server checks aud contains its own identifier (RFC 9068 §4, RFC 8707).',
    expected: 'The resource server answers 401 invalid_token.',
  },
  {
    id: 'expired-token',
    title: 'Call the API with an expired token',
    misbehaviour: 'The client keeps using an access token after its exp.',
    attack: 'An old leaked token used long after the fact.',
    defence: 'Short-lived access tokens; the resource server checks exp (with a small clock tolerance).',
    expected: 'The resource server answers 401 invalid_token.',
  },
  {
    id: 'alg-none',
    title: 'Call the API with a token with alg: none',
    misbehaviour: 'The client sends a token whose header says alg "none" and whose signature is empty.',
    attack: "Forging tokens against libraries that trust the token's own alg header.",
    defence:
      "The resource server verifies with an algorithm allow-list (ES256 only), never the token's say-so (RFC 8725 §3.1).",
    expected: 'The resource server answers 401 invalid_token.',
  },
  {
    id: 'edited-payload',
    title: 'Call the API with a token whose payload was edited',
    misbehaviour: "The client widens the scope in the token's payload and keeps the original signature.",
    attack: 'Privilege escalation by editing the (readable, base64url) claims.',
    defence:
      "The signature covers header and payload; the resource server verifies it with the AS's published key — without calling the AS.",
    expected: 'The resource server answers 401 invalid_token.',
  },
  {
    id: 'missing-scope',
    title: 'Call the API with a token lacking the scope',
    misbehaviour: 'The client asks only for documents:read, then calls GET /photos.',
    attack: 'A client (or a stolen token) reaching data the user never approved.',
    defence: 'The resource server checks the scope per route (RFC 6750 §3.1).',
    expected: 'The resource server answers 403 insufficient_scope.',
  },
];

export function findSwitch(id: string): LabSwitch | undefined {
  return LAB_SWITCHES.find((s) => s.id === id);
}

/** A step of the lab that cannot go on (e.g. the AS did not issue the code the switch needs). */
class LabStop extends Error {
  constructor(readonly observation: LabObservation) {
    super(observation.label);
  }
}

interface HttpAnswer {
  status: number;
  body: Record<string, unknown> | null;
}

interface ApiAnswer {
  status: number;
  error?: string | undefined;
  description?: string | undefined;
}

export interface LabUser {
  username: string;
  password: string;
  label: string;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** A JSON object body, or null for an empty, non-JSON or non-object body (the answer is shown, never trusted). */
function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function newVerifier(): string {
  return randomBytes(32).toString('base64url');
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** A JWT with alg "none" and no signature, claims untouched. */
export function algNone(token: string): string {
  const [, payload] = token.split('.');
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
  return `${header}.${payload}.`;
}

/** The same JWT with its scope claim widened, original signature kept. */
export function editedPayload(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
  claims.scope = 'photos:read photos:write documents:read documents:write';
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

/** Genuine access tokens the lab obtained, kept for the "expired token" switch (never leave the server). */
export class TokenPool {
  private readonly tokens: { token: string; exp: number }[] = [];

  add(token: string): void {
    const exp = decodeJwt(token)?.claims.exp;
    if (typeof exp !== 'number') return;
    this.tokens.push({ token, exp });
    this.tokens.sort((a, b) => a.exp - b.exp);
    if (this.tokens.length > POOL_SIZE) this.tokens.splice(0, this.tokens.length - POOL_SIZE);
  }

  /** The token that expires (or expired) first. */
  earliest(): { token: string; exp: number } | undefined {
    return this.tokens[0];
  }
}

export interface LabDependencies {
  config: Config;
  oauthClient: OAuthClient;
  pool: TokenPool;
  /** Injected for tests; defaults to a real timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** One run of one switch. Create one per run: it holds the run's recorder. */
export class LabRun {
  private readonly config: Config;
  private readonly redirectUri: string;
  private readonly sleep: (ms: number) => Promise<void>;
  private as!: oauth.AuthorizationServer;
  private readonly observations: LabObservation[] = [];

  constructor(
    private readonly deps: LabDependencies,
    private readonly recorder: FlowRecorder,
  ) {
    this.config = deps.config;
    this.redirectUri = redirectUri(deps.config);
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  private get victim(): LabUser {
    return { username: this.config.LAB_USERNAME, password: this.config.LAB_PASSWORD, label: 'the victim' };
  }

  private get attacker(): LabUser {
    return {
      username: this.config.LAB_ATTACKER_USERNAME,
      password: this.config.LAB_ATTACKER_PASSWORD,
      label: 'the attacker',
    };
  }

  // --- observations -----------------------------------------------------------------------------------------

  private observe(observation: Omit<LabObservation, 'ok'>, ok: boolean): LabObservation {
    const full = { ...observation, ok };
    this.observations.push(full);
    return full;
  }

  /** An OAuth JSON error answer (token endpoint, resource server) with exactly this status and error code. */
  private expectError(
    label: string,
    by: Role,
    answer: { status: number; error?: string | undefined; description?: string | undefined },
    status: number,
    error: string,
  ): void {
    this.observe(
      {
        label,
        by,
        status: answer.status,
        ...(answer.error ? { error: answer.error } : {}),
        ...(answer.description ? { errorDescription: answer.description } : {}),
        expected: `${status} ${error}`,
      },
      answer.status === status && answer.error === error,
    );
  }

  /** A precondition that must succeed for the switch to show anything; stops the run when it does not. */
  private require(
    label: string,
    by: Role,
    ok: boolean,
    answer: { status?: number; error?: string | undefined; description?: string | undefined },
    expected: string,
  ): void {
    const observation = this.observe(
      {
        label,
        by,
        ...(answer.status !== undefined ? { status: answer.status } : {}),
        ...(answer.error ? { error: answer.error } : {}),
        ...(answer.description ? { errorDescription: answer.description } : {}),
        expected,
      },
      ok,
    );
    if (!ok) throw new LabStop(observation);
  }

  // --- the misbehaving client's raw HTTP ----------------------------------------------------------------------

  private authorizationUrl(overrides: Record<string, string | null>): URL {
    const url = new URL(this.as.authorization_endpoint!);
    const params: Record<string, string | null> = {
      response_type: 'code',
      client_id: this.config.CLIENT_ID,
      redirect_uri: this.redirectUri,
      scope: this.config.SCOPES,
      state: randomBytes(16).toString('base64url'),
      ...overrides,
    };
    for (const [k, v] of Object.entries(params)) if (v !== null) url.searchParams.set(k, v);
    return url;
  }

  /** Sends `user`'s browser (played by the lab) through the authorization request; records both legs. */
  private async authorizeAs(
    user: LabUser,
    url: URL,
    verifier: string | undefined,
    note?: string,
  ): Promise<AuthorizeOutcome> {
    this.recorder.record({
      role: 'client',
      title: `Authorization request prepared for ${user.username}${note ? ` (${note})` : ''}`,
      outcome: 'info',
      sections: authorizationRequestSections(url, verifier),
    });
    this.recorder.record({
      role: 'resource owner',
      to: 'authorization server',
      title: `${user.username}'s browser (played by the lab): GET /authorize`,
      outcome: 'info',
    });
    const browser = new LabBrowser(user, this.redirectUri, (step) => this.recorder.record(step));
    let outcome: AuthorizeOutcome;
    try {
      outcome = await browser.authorize(url.href);
    } catch (err) {
      if (isNetworkError(err)) throw new UpstreamUnavailableError('authorization server', err);
      throw err;
    }
    if (outcome.kind === 'redirect') {
      const error = outcome.params.get('error');
      this.recorder.record({
        role: 'authorization server',
        to: 'resource owner',
        title: error
          ? `${outcome.status} redirect back with error=${error}`
          : `${outcome.status} redirect back with a code`,
        outcome: error ? 'rejected' : 'ok',
        ...(outcome.params.get('error_description') ? { detail: outcome.params.get('error_description')! } : {}),
        sections: callbackSections(outcome.params, []).slice(0, 1),
      });
    } else {
      this.recorder.record({
        role: 'authorization server',
        to: 'resource owner',
        title: `${outcome.status} page: ${outcome.title}`,
        detail: outcome.detail,
        outcome: outcome.status >= 400 ? 'rejected' : 'info',
      });
    }
    return outcome;
  }

  /** A code for `user`, or the run stops with what the AS did instead. */
  private async codeFor(user: LabUser, url: URL, verifier: string, note?: string): Promise<URLSearchParams> {
    const outcome = await this.authorizeAs(user, url, verifier, note);
    const code = outcome.kind === 'redirect' ? outcome.params.get('code') : null;
    this.require(
      `the authorization server issues a code to ${user.username}`,
      'authorization server',
      code !== null,
      outcome.kind === 'redirect'
        ? {
            status: outcome.status,
            error: outcome.params.get('error') ?? undefined,
            description: outcome.params.get('error_description') ?? undefined,
          }
        : { status: outcome.status, error: outcome.title, description: outcome.detail },
      'a redirect with a code',
    );
    return (outcome as { params: URLSearchParams }).params;
  }

  private basic(): string {
    // RFC 6749 §2.3.1: client id and secret are form-urlencoded before base64.
    const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
    return `Basic ${Buffer.from(`${enc(this.config.CLIENT_ID)}:${enc(this.config.CLIENT_SECRET)}`).toString('base64')}`;
  }

  private async formPost(
    endpoint: string | undefined,
    title: string,
    responseTitle: string,
    params: Record<string, string>,
  ): Promise<HttpAnswer> {
    if (!endpoint) throw new UpstreamUnavailableError('authorization server', new Error(`no endpoint for ${title}`));
    const header = recordFormRequest(this.recorder, title, endpoint, this.config.CLIENT_ID, params)!;
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          authorization: this.basic(),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          traceparent: header,
          ...requestIdHeaders(),
        },
        body: new URLSearchParams(params).toString(),
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
      recordAccessToken(this.recorder, accessToken);
      this.deps.pool.add(accessToken);
    }
    return { status: response.status, body };
  }

  private token(title: string, params: Record<string, string>): Promise<HttpAnswer> {
    return this.formPost(this.as.token_endpoint, title, 'Token response', params);
  }

  private async api(accessToken: string, path: string, note: string): Promise<ApiAnswer> {
    const url = `${this.config.RESOURCE_SERVER}${path}`;
    this.recorder.record({ role: 'client', title: note, outcome: 'info' });
    const header = recordApiRequest(this.recorder, 'GET', url, accessToken)!;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: {
          authorization: `Bearer ${accessToken}`,
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
    return { status: response.status, error, description };
  }

  private async redeem(
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

  private refresh(refreshToken: string, title: string): Promise<HttpAnswer> {
    return this.token(title, { grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  /** A full, well-behaved flow as the victim; returns the tokens (the run stops if the AS refuses). */
  private async obtainTokens(
    options: { scope?: string; resource?: string } = {},
  ): Promise<{ accessToken: string; refreshToken: string | undefined }> {
    const verifier = newVerifier();
    const url = this.authorizationUrl({
      code_challenge: s256(verifier),
      code_challenge_method: 'S256',
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options.resource ? { resource: options.resource } : {}),
    });
    const params = await this.codeFor(this.victim, url, verifier);
    const answer = await this.redeem(
      params,
      verifier,
      'Token request (authorization_code grant)',
      options.resource ? { resource: options.resource } : {},
    );
    const accessToken = str(answer.body?.access_token);
    this.require(
      'the authorization server issues tokens',
      'authorization server',
      answer.status === 200 && accessToken !== undefined,
      { status: answer.status, error: str(answer.body?.error), description: str(answer.body?.error_description) },
      '200 with tokens',
    );
    return { accessToken: accessToken!, refreshToken: str(answer.body?.refresh_token) };
  }

  private async controlCall(accessToken: string, path = '/photos'): Promise<void> {
    const answer = await this.api(accessToken, path, 'Control: the genuine token, untouched');
    this.require(`the genuine token works at GET ${path}`, 'resource server', answer.status === 200, answer, '200');
  }

  // --- the switches -------------------------------------------------------------------------------------------

  private async badPkce(overrides: Record<string, string | null>, note: string): Promise<void> {
    const verifier = newVerifier();
    const url = this.authorizationUrl(
      Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, v === 'VERIFIER' ? verifier : v])),
    );
    const outcome = await this.authorizeAs(
      this.victim,
      url,
      overrides.code_challenge === null ? undefined : verifier,
      note,
    );
    if (outcome.kind === 'redirect') {
      this.expectError(
        'authorization response',
        'authorization server',
        {
          status: outcome.status,
          error: outcome.params.get('error') ?? '(a code was issued)',
          description: outcome.params.get('error_description') ?? undefined,
        },
        303,
        'invalid_request',
      );
    } else {
      this.expectError(
        'authorization response',
        'authorization server',
        { status: outcome.status, error: outcome.title, description: outcome.detail },
        303,
        'invalid_request',
      );
    }
  }

  private async injection(stateMode: 'drop' | 'reuse'): Promise<void> {
    // The victim's side: the client starts a flow for alice and keeps her verifier.
    const victimVerifier = newVerifier();
    const fixedState = 'same-state-for-every-flow';
    const victimUrl = this.authorizationUrl({
      code_challenge: s256(victimVerifier),
      code_challenge_method: 'S256',
      state: stateMode === 'drop' ? null : fixedState,
    });
    this.recorder.record({
      role: 'client',
      title: `Flow started for ${this.victim.username}: ${stateMode === 'drop' ? 'no state' : `state="${fixedState}", as in every flow`}`,
      outcome: 'info',
      sections: authorizationRequestSections(victimUrl, victimVerifier),
    });
    // The attacker's side: bob runs the flow in his own browser and keeps the code instead of delivering it.
    const attackerVerifier = newVerifier();
    const attackerUrl = this.authorizationUrl({
      code_challenge: s256(attackerVerifier),
      code_challenge_method: 'S256',
      state: stateMode === 'drop' ? null : fixedState,
    });
    const attackerParams = await this.codeFor(
      this.attacker,
      attackerUrl,
      attackerVerifier,
      'the attacker stops before the callback and keeps his code',
    );
    // The forged callback, delivered through the victim's browser (a link or an auto-submitting page).
    const forged = new URLSearchParams({ code: attackerParams.get('code')!, iss: attackerParams.get('iss') ?? '' });
    if (stateMode === 'reuse') forged.set('state', fixedState);
    this.recorder.record({
      role: 'resource owner',
      to: 'client',
      title: `GET /callback with ${this.attacker.username}'s code (injected into ${this.victim.username}'s browser)`,
      outcome: 'info',
      sections: callbackSections(forged, [
        stateMode === 'drop'
          ? {
              name: 'state',
              ok: false,
              detail: 'not checked: the misbehaving client sent none and accepts any callback',
            }
          : {
              name: 'state',
              ok: true,
              detail: `"${fixedState}" matches — but it is the same in every flow, so the attacker knew it`,
            },
        { name: 'iss', ok: true, detail: "our authorization server (the code is genuine, just not the victim's)" },
      ]),
    });
    const answer = await this.redeem(
      forged,
      victimVerifier,
      `Token request: ${this.attacker.username}'s code with ${this.victim.username}'s verifier`,
    );
    this.expectError(
      'redemption of the injected code',
      'authorization server',
      { status: answer.status, error: str(answer.body?.error), description: str(answer.body?.error_description) },
      400,
      'invalid_grant',
    );
  }

  private async wrongIss(): Promise<void> {
    const verifier = newVerifier();
    const state = randomBytes(16).toString('base64url');
    const url = this.authorizationUrl({ code_challenge: s256(verifier), code_challenge_method: 'S256', state });
    const params = await this.codeFor(this.victim, url, verifier);
    const tampered = new URLSearchParams(params);
    tampered.set('iss', 'https://attacker.example');
    let rejected: string | undefined;
    try {
      // The client app's real check (oauth4webapi validateAuthResponse with iss required).
      await this.deps.oauthClient.validateCallback(tampered, state);
    } catch (err) {
      if (!(err instanceof PageError)) throw err;
      rejected = err.detail ?? err.explanation;
    }
    this.recorder.record({
      role: 'client',
      title: rejected
        ? 'Authorization response rejected by the RFC 9207 iss check'
        : 'Authorization response accepted (the iss check did not fire!)',
      outcome: rejected ? 'rejected' : 'ok',
      ...(rejected ? { detail: rejected } : {}),
      sections: callbackSections(tampered, [
        { name: 'state', ok: true, detail: 'matches' },
        {
          name: 'iss',
          ok: !rejected,
          detail: `expected ${this.deps.oauthClient.issuerIdentifier}, got https://attacker.example`,
        },
      ]),
    });
    this.observe(
      {
        label: "the client's RFC 9207 check",
        by: 'client',
        error: rejected ? 'iss mismatch' : 'accepted',
        ...(rejected ? { errorDescription: rejected } : {}),
        expected: 'iss mismatch, before any token request',
      },
      rejected !== undefined,
    );
  }

  private async redirectUriOffByOne(): Promise<void> {
    const verifier = newVerifier();
    const uri = this.redirectUri;
    const last = uri.at(-1)!;
    const offByOne = `${uri.slice(0, -1)}${last === 'k' ? 'c' : 'k'}`;
    const outcome = await this.authorizeAs(
      this.victim,
      this.authorizationUrl({ code_challenge: s256(verifier), code_challenge_method: 'S256', redirect_uri: offByOne }),
      verifier,
      `redirect_uri ${offByOne}`,
    );
    const observed =
      outcome.kind === 'page'
        ? { status: outcome.status, title: outcome.title, errorDescription: outcome.detail }
        : { status: outcome.status, error: `redirected to ${outcome.location.split('?')[0]}` };
    this.observe(
      {
        label: 'authorization request',
        by: 'authorization server',
        ...observed,
        expected: '400 error page, no redirect',
      },
      outcome.kind === 'page' && outcome.status === 400,
    );
  }

  private async codeTwice(): Promise<void> {
    const verifier = newVerifier();
    const params = await this.codeFor(
      this.victim,
      this.authorizationUrl({ code_challenge: s256(verifier), code_challenge_method: 'S256' }),
      verifier,
    );
    const first = await this.redeem(params, verifier, 'Token request: first redemption');
    const accessToken = str(first.body?.access_token);
    const refreshToken = str(first.body?.refresh_token);
    this.require(
      'first redemption',
      'authorization server',
      first.status === 200 && accessToken !== undefined && refreshToken !== undefined,
      { status: first.status, error: str(first.body?.error) },
      '200 with an access and a refresh token',
    );
    const second = await this.redeem(params, verifier, 'Token request: the same code again');
    this.expectError(
      'second redemption of the same code',
      'authorization server',
      { status: second.status, error: str(second.body?.error), description: str(second.body?.error_description) },
      400,
      'invalid_grant',
    );
    const introspection = await this.formPost(
      this.as.introspection_endpoint,
      'Introspection of the first access token (RFC 7662)',
      'Introspection response',
      {
        token: accessToken!,
        token_type_hint: 'access_token',
      },
    );
    const active = introspection.body?.active;
    this.observe(
      {
        label: 'introspection of the first access token',
        by: 'authorization server',
        status: introspection.status,
        ...(typeof active === 'boolean' ? { active } : {}),
        expected: 'active: false',
      },
      introspection.status === 200 && active === false,
    );
    const refreshed = await this.refresh(refreshToken!, 'Refresh with the first refresh token');
    this.expectError(
      'the first refresh token',
      'authorization server',
      {
        status: refreshed.status,
        error: str(refreshed.body?.error),
        description: str(refreshed.body?.error_description),
      },
      400,
      'invalid_grant',
    );
  }

  private async refreshReuse(): Promise<void> {
    const { refreshToken } = await this.obtainTokens();
    this.require(
      'a refresh token was issued',
      'authorization server',
      refreshToken !== undefined,
      {},
      'a refresh token',
    );
    const rotated = await this.refresh(refreshToken!, 'Refresh (rotates the refresh token)');
    const newRefreshToken = str(rotated.body?.refresh_token);
    this.require(
      'the first refresh',
      'authorization server',
      rotated.status === 200 && newRefreshToken !== undefined,
      { status: rotated.status, error: str(rotated.body?.error) },
      '200 with a new refresh token',
    );
    const reused = await this.refresh(
      refreshToken!,
      `Refresh with the OLD refresh token ${shorten(refreshToken!)} again`,
    );
    this.expectError(
      'the old refresh token, reused',
      'authorization server',
      { status: reused.status, error: str(reused.body?.error), description: str(reused.body?.error_description) },
      400,
      'invalid_grant',
    );
    const family = await this.refresh(
      newRefreshToken!,
      `Refresh with the NEW refresh token ${shorten(newRefreshToken!)}`,
    );
    this.expectError(
      'the new refresh token (same family)',
      'authorization server',
      { status: family.status, error: str(family.body?.error), description: str(family.body?.error_description) },
      400,
      'invalid_grant',
    );
  }

  private async otherAudience(): Promise<void> {
    const resource = this.config.LAB_OTHER_RESOURCE;
    const { accessToken } = await this.obtainTokens({ resource });
    const aud = decodeJwt(accessToken)?.claims.aud;
    this.recorder.record({
      role: 'client',
      title: `The token's aud is ${JSON.stringify(aud)}, not our resource server`,
      outcome: 'info',
    });
    const answer = await this.api(
      accessToken,
      '/photos',
      `Sending the token for ${resource} to ${this.config.RESOURCE_SERVER}`,
    );
    this.expectError('GET /photos with a token for another audience', 'resource server', answer, 401, 'invalid_token');
  }

  private async expiredToken(): Promise<LabOutcome['notRun']> {
    const tolerance = this.config.LAB_RS_CLOCK_TOLERANCE;
    // Rejected once now > exp + tolerance at the RS (whole seconds): one more second to be safe.
    const usableAt = (exp: number) => (exp + tolerance + 1) * 1000;
    let candidate = this.deps.pool.earliest();
    if (!candidate || usableAt(candidate.exp) - Date.now() > this.config.LAB_MAX_WAIT * 1000) {
      await this.obtainTokens();
      candidate = this.deps.pool.earliest()!;
    }
    const wait = usableAt(candidate.exp) - Date.now();
    if (wait > this.config.LAB_MAX_WAIT * 1000) {
      const message =
        `The earliest-expiring token the lab holds (${shorten(candidate.token)}) expires at ${new Date(candidate.exp * 1000).toISOString()}; ` +
        `with the resource server's clock tolerance that is ${Math.ceil(wait / 1000)} s away, more than LAB_MAX_WAIT (${this.config.LAB_MAX_WAIT} s). ` +
        'The lab keeps its tokens: run this switch again later (or run the workshop with a short ACCESS_TOKEN_TTL).';
      this.recorder.record({ role: 'client', title: 'No expired token yet', detail: message, outcome: 'info' });
      return message;
    }
    if (wait > 0) {
      this.recorder.record({
        role: 'client',
        title: `Waiting ${Math.ceil(wait / 1000)} s for ${shorten(candidate.token)} to expire (exp + ${tolerance} s tolerance)`,
        outcome: 'info',
      });
      await this.sleep(wait);
    }
    const answer = await this.api(
      candidate.token,
      '/photos',
      `Using an access token that expired at ${new Date(candidate.exp * 1000).toISOString()}`,
    );
    this.expectError('GET /photos with an expired token', 'resource server', answer, 401, 'invalid_token');
    return undefined;
  }

  private async forged(kind: 'alg-none' | 'edited-payload'): Promise<void> {
    const { accessToken } = await this.obtainTokens();
    await this.controlCall(accessToken);
    const forgedToken = kind === 'alg-none' ? algNone(accessToken) : editedPayload(accessToken);
    const decoded = decodeJwt(forgedToken);
    this.recorder.record({
      role: 'client',
      title:
        kind === 'alg-none'
          ? 'Header rewritten to alg "none", signature removed'
          : 'Payload edited: scope widened to every scope, signature kept',
      detail:
        kind === 'alg-none' ? `header ${JSON.stringify(decoded?.header)}` : `scope "${String(decoded?.claims.scope)}"`,
      outcome: 'info',
    });
    const answer = await this.api(
      forgedToken,
      '/photos',
      kind === 'alg-none' ? 'Sending the alg:none token' : 'Sending the edited token',
    );
    this.expectError(
      `GET /photos with ${kind === 'alg-none' ? 'an alg: none token' : 'an edited token'}`,
      'resource server',
      answer,
      401,
      'invalid_token',
    );
  }

  private async missingScope(): Promise<void> {
    const { accessToken } = await this.obtainTokens({ scope: 'documents:read' });
    await this.controlCall(accessToken, '/documents');
    const answer = await this.api(accessToken, '/photos', 'Calling GET /photos with a documents:read token');
    this.expectError('GET /photos without photos:read', 'resource server', answer, 403, 'insufficient_scope');
  }

  async run(lab: LabSwitch): Promise<LabOutcome> {
    this.as = await this.deps.oauthClient.authorizationServer();
    this.recorder.record({
      role: 'client',
      title: `Lab: ${lab.title}`,
      detail: `${lab.misbehaviour} The client misbehaves on purpose; the lab plays ${this.victim.username}'s browser.`,
      outcome: 'info',
    });
    let notRun: string | undefined;
    try {
      switch (lab.id) {
        case 'no-pkce':
          await this.badPkce({ code_challenge: null, code_challenge_method: null }, 'no code_challenge');
          break;
        case 'plain-pkce':
          await this.badPkce(
            { code_challenge: 'VERIFIER', code_challenge_method: 'plain' },
            'code_challenge_method=plain',
          );
          break;
        case 'wrong-verifier': {
          const verifier = newVerifier();
          const params = await this.codeFor(
            this.victim,
            this.authorizationUrl({ code_challenge: s256(verifier), code_challenge_method: 'S256' }),
            verifier,
          );
          const answer = await this.redeem(params, newVerifier(), 'Token request with a wrong code_verifier');
          this.expectError(
            'redemption with a wrong verifier',
            'authorization server',
            { status: answer.status, error: str(answer.body?.error), description: str(answer.body?.error_description) },
            400,
            'invalid_grant',
          );
          break;
        }
        case 'drop-state':
          await this.injection('drop');
          break;
        case 'reuse-state':
          await this.injection('reuse');
          break;
        case 'wrong-iss':
          await this.wrongIss();
          break;
        case 'redirect-uri-off-by-one':
          await this.redirectUriOffByOne();
          break;
        case 'code-twice':
          await this.codeTwice();
          break;
        case 'refresh-reuse':
          await this.refreshReuse();
          break;
        case 'other-audience':
          await this.otherAudience();
          break;
        case 'expired-token':
          notRun = await this.expiredToken();
          break;
        case 'alg-none':
          await this.forged('alg-none');
          break;
        case 'edited-payload':
          await this.forged('edited-payload');
          break;
        case 'missing-scope':
          await this.missingScope();
          break;
        default:
          throw new Error(`unknown lab switch ${lab.id}`);
      }
    } catch (err) {
      if (!(err instanceof LabStop)) throw err;
    }
    const asExpected = notRun === undefined && this.observations.length > 0 && this.observations.every((o) => o.ok);
    this.recorder.record({
      role: 'client',
      title: notRun
        ? 'Lab: not run'
        : asExpected
          ? 'Lab: refused as expected — the defence held'
          : 'Lab: NOT the expected result',
      outcome: notRun ? 'info' : asExpected ? 'ok' : 'rejected',
    });
    return { switchId: lab.id, asExpected, observations: this.observations, ...(notRun ? { notRun } : {}) };
  }
}
