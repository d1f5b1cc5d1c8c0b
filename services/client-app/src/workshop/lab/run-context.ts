// One run of one lab switch: what a switch's `run(ctx)` works with. The context holds the run's flow
// recorder, the misbehaving client (rogue-client.ts), the lab browser that plays the users (lab-agent.ts),
// and the run's observations: each compares a server's actual answer with the one its defence must give, and
// the run is "as expected" only when every observation is. A failed precondition (the AS did not even issue
// the code the switch needs) stops the run with what happened instead of a false success.
import type * as oauth from 'oauth4webapi';
import type { Config } from '../../config.js';
import { redirectUri } from '../../config.js';
import { UpstreamUnavailableError, isNetworkError } from '../../oauth/errors.js';
import type { OAuthClient } from '../../plugins/oauth-client.js';
import { authorizationRequestSections, callbackSections } from '../inspector/present.js';
import type { FlowRecorder, LabObservation, LabOutcome, Role } from '../inspector/store.js';
import { LabBrowser, type AuthorizeOutcome } from '../lab-agent.js';
import { newVerifier, s256 } from './forge.js';
import { RogueClient, errorOf, str, type ApiAnswer, type HttpAnswer } from './rogue-client.js';
import { labKey, signProof } from './dpop.js';
import { publicDpopJwk, type StoredDpopKey } from '../../oauth/dpop.js';
import { jwkThumbprint } from '@quartet/common';
import type { TokenPool } from './token-pool.js';

export interface LabUser {
  username: string;
  password: string;
  label: string;
}

export interface LabDependencies {
  config: Config;
  oauthClient: OAuthClient;
  pool: TokenPool;
  /** Injected for tests; defaults to a real timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** What a switch shows: the misbehaviour, the attack it enables, the defence and the answer expected. */
export interface SwitchMeta {
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

/** A switch: its meta and its run, which observes the defence's answers (or returns why it could not run). */
export interface LabSwitch {
  meta: SwitchMeta;
  run(ctx: LabContext): Promise<string | void>;
}

/** A step of the lab that cannot go on (e.g. the AS did not issue the code the switch needs). */
class LabStop extends Error {
  constructor(readonly observation: LabObservation) {
    super(observation.label);
  }
}

export class LabContext {
  readonly config: Config;
  readonly redirectUri: string;
  readonly client: RogueClient;
  readonly sleep: (ms: number) => Promise<void>;
  readonly observations: LabObservation[] = [];

  constructor(
    readonly deps: LabDependencies,
    readonly recorder: FlowRecorder,
    readonly as: oauth.AuthorizationServer,
  ) {
    this.config = deps.config;
    this.redirectUri = redirectUri(deps.config);
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.client = new RogueClient(deps.config, as, this.redirectUri, recorder, deps.pool, deps.oauthClient);
  }

  get victim(): LabUser {
    return { username: this.config.LAB_USERNAME, password: this.config.LAB_PASSWORD, label: 'the victim' };
  }

  get attacker(): LabUser {
    return {
      username: this.config.LAB_ATTACKER_USERNAME,
      password: this.config.LAB_ATTACKER_PASSWORD,
      label: 'the attacker',
    };
  }

  // --- observations -----------------------------------------------------------------------------------------

  observe(observation: Omit<LabObservation, 'ok'>, ok: boolean): LabObservation {
    const full = { ...observation, ok };
    this.observations.push(full);
    return full;
  }

  /** An OAuth JSON error answer (token endpoint, resource server) with exactly this status and error code. */
  expectError(label: string, by: Role, answer: ApiAnswer, status: number, error: string): void {
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

  /** The AS must answer an authorization request with an error page (400) and never redirect (RFC 6749 §4.1.2.1). */
  expectErrorPage(label: string, outcome: AuthorizeOutcome): void {
    const observed =
      outcome.kind === 'page'
        ? { status: outcome.status, title: outcome.title, errorDescription: outcome.detail }
        : { status: outcome.status, error: `redirected to ${outcome.location.split('?')[0]}` };
    this.observe(
      { label, by: 'authorization server', ...observed, expected: '400 error page, no redirect' },
      outcome.kind === 'page' && outcome.status === 400,
    );
  }

  /** A precondition that must succeed for the switch to show anything; stops the run when it does not. */
  require(
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

  // --- the front channel, played by the lab browser ----------------------------------------------------------

  /** Sends `user`'s browser (played by the lab) through the authorization request; records both legs. */
  async authorizeAs(
    user: LabUser,
    url: URL,
    verifier: string | undefined,
    note?: string,
    { push = true }: { push?: boolean } = {},
  ): Promise<AuthorizeOutcome> {
    this.recorder.record({
      role: 'client',
      title: `Authorization request prepared for ${user.username}${note ? ` (${note})` : ''}`,
      outcome: 'info',
      sections: authorizationRequestSections(url, verifier),
    });
    // An AS that requires PAR (RFC 9126 §5) gets every lab request pushed, as a well-behaved client would:
    // what a switch breaks then reaches the check it is about. Only "skip-par" sends it through the browser.
    if (push && this.parRequired() && url.searchParams.get('client_id') === this.config.CLIENT_ID)
      url = await this.pushed(url);
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
  async codeFor(user: LabUser, url: URL, verifier: string, note?: string): Promise<URLSearchParams> {
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

  /** A code for the victim from a well-behaved authorization request (S256 PKCE with this verifier). */
  victimCode(verifier: string): Promise<URLSearchParams> {
    const url = this.client.authorizationUrl({ code_challenge: s256(verifier), code_challenge_method: 'S256' });
    return this.codeFor(this.victim, url, verifier);
  }

  /** A full, well-behaved flow as the victim; returns the tokens (the run stops if the AS refuses). */
  async obtainTokens(
    options: { scope?: string; resource?: string } = {},
  ): Promise<{ accessToken: string; refreshToken: string | undefined }> {
    const verifier = newVerifier();
    const url = this.client.authorizationUrl({
      code_challenge: s256(verifier),
      code_challenge_method: 'S256',
      ...(options.scope ? { scope: options.scope } : {}),
      ...(options.resource ? { resource: options.resource } : {}),
    });
    const params = await this.codeFor(this.victim, url, verifier);
    const answer = await this.client.redeem(
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
      errorOf(answer),
      '200 with tokens',
    );
    return { accessToken: accessToken!, refreshToken: str(answer.body?.refresh_token) };
  }

  /** Whether the AS's metadata says every authorization request must be pushed (RFC 9126 §5). */
  parRequired(): boolean {
    return (
      (this.as as { require_pushed_authorization_requests?: unknown }).require_pushed_authorization_requests === true
    );
  }

  /** Pushes the request's parameters (RFC 9126 §2.1); the URL the browser then gets (§4), or the run stops. */
  private async pushed(url: URL): Promise<URL> {
    const endpoint = (this.as as { pushed_authorization_request_endpoint?: unknown })
      .pushed_authorization_request_endpoint;
    const answer = await this.client.formPost(
      typeof endpoint === 'string' ? endpoint : undefined,
      'Pushed authorization request (RFC 9126)',
      'Pushed authorization response',
      Object.fromEntries(url.searchParams),
    );
    const requestUri = str(answer.body?.request_uri);
    // Observed only when it fails (and then the run stops): the push is plumbing, not what the switch tests.
    if (answer.status !== 201 || requestUri === undefined)
      this.require(
        'the authorization server accepts the pushed request',
        'authorization server',
        false,
        errorOf(answer),
        '201 with a request_uri',
      );
    const front = new URL(this.as.authorization_endpoint!);
    front.searchParams.set('client_id', this.config.CLIENT_ID);
    front.searchParams.set('request_uri', requestUri!);
    return front;
  }

  // --- DPoP (RFC 9449) --------------------------------------------------------------------------------------

  /** Why the DPoP switches cannot run here, or undefined: the AS must advertise ES256 proofs (§5.1). */
  dpopUnsupported(): string | undefined {
    const algs = (this.as as { dpop_signing_alg_values_supported?: unknown }).dpop_signing_alg_values_supported;
    return Array.isArray(algs) && algs.includes('ES256')
      ? undefined
      : 'The authorization server does not advertise DPoP with ES256 (dpop_signing_alg_values_supported, RFC 9449 §5.1): no DPoP-bound token to steal.';
  }

  /**
   * A token request with a fresh proof of `key` (none with `key` null), sent once more with the nonce when
   * the AS asks for one (400 use_dpop_nonce + DPoP-Nonce, §8), as a well-behaved client does.
   */
  async tokenWithProof(
    key: StoredDpopKey | null,
    title: string,
    params: Record<string, string>,
    options: { publicClient?: boolean } = {},
  ): Promise<HttpAnswer> {
    const endpoint = this.as.token_endpoint;
    const send = async (nonce?: string) =>
      this.client.formPost(endpoint, title, 'Token response', params, {
        ...options,
        ...(key && endpoint
          ? { dpop: await signProof(key, { htm: 'POST', htu: endpoint, ...(nonce ? { nonce } : {}) }) }
          : {}),
      });
    const first = await send();
    if (!key || str(first.body?.error) !== 'use_dpop_nonce' || !first.dpopNonce) return first;
    return send(first.dpopNonce);
  }

  /** A full, well-behaved DPoP flow as the victim: the code bound by dpop_jkt (§10), a DPoP token (§5). */
  async obtainDpopTokens(): Promise<{ accessToken: string; refreshToken: string | undefined; key: StoredDpopKey }> {
    const key = await labKey();
    const verifier = newVerifier();
    const url = this.client.authorizationUrl({
      code_challenge: s256(verifier),
      code_challenge_method: 'S256',
      dpop_jkt: await jwkThumbprint(publicDpopJwk(key) as Parameters<typeof jwkThumbprint>[0]),
    });
    const params = await this.codeFor(this.victim, url, verifier);
    const answer = await this.tokenWithProof(key, 'Token request (authorization_code grant) with a DPoP proof', {
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: this.redirectUri,
      code_verifier: verifier,
    });
    const accessToken = str(answer.body?.access_token);
    const tokenType = str(answer.body?.token_type);
    this.require(
      'the authorization server issues a DPoP-bound token',
      'authorization server',
      answer.status === 200 && accessToken !== undefined && tokenType?.toLowerCase() === 'dpop',
      { ...errorOf(answer), ...(tokenType && answer.status === 200 ? { error: `token_type ${tokenType}` } : {}) },
      '200 with token_type DPoP',
    );
    return { accessToken: accessToken!, refreshToken: str(answer.body?.refresh_token), key };
  }

  /**
   * A DPoP call to the resource server with a fresh proof of `key` for `accessToken` (ath), sent once more
   * with the nonce when the RS asks (401 use_dpop_nonce, §9); returns the answer and the last proof sent.
   */
  async dpopCall(
    accessToken: string,
    key: StoredDpopKey,
    path: string,
    note: string,
  ): Promise<{ answer: ApiAnswer; proof: string }> {
    const htu = `${this.config.RESOURCE_SERVER}${path}`;
    const send = async (nonce?: string) => {
      const proof = await signProof(key, { htm: 'GET', htu, accessToken, ...(nonce ? { nonce } : {}) });
      return { answer: await this.client.api(accessToken, path, note, { scheme: 'DPoP', proof }), proof };
    };
    const first = await send();
    if (first.answer.error !== 'use_dpop_nonce' || !first.answer.dpopNonce) return first;
    return send(first.answer.dpopNonce);
  }

  /** The genuine DPoP token with its own key works: what the switch then refuses is refused for its misbehaviour. */
  async dpopControlCall(accessToken: string, key: StoredDpopKey, path = '/photos'): Promise<void> {
    const { answer } = await this.dpopCall(
      accessToken,
      key,
      path,
      'Control: the genuine token with a proof of its key',
    );
    this.require(
      `the genuine DPoP token works at GET ${path}`,
      'resource server',
      answer.status === 200,
      answer,
      '200',
    );
  }

  /** The genuine token works: what the switch then refuses is refused for its misbehaviour alone. */
  async controlCall(accessToken: string, path = '/photos'): Promise<void> {
    const answer = await this.client.api(accessToken, path, 'Control: the genuine token, untouched');
    this.require(`the genuine token works at GET ${path}`, 'resource server', answer.status === 200, answer, '200');
  }
}

/** Runs one switch in its own flow (recorder) and returns its outcome, kept with the flow. */
export async function runSwitch(lab: LabSwitch, deps: LabDependencies, recorder: FlowRecorder): Promise<LabOutcome> {
  const ctx = new LabContext(deps, recorder, await deps.oauthClient.authorizationServer());
  recorder.record({
    role: 'client',
    title: `Lab: ${lab.meta.title}`,
    detail: `${lab.meta.misbehaviour} The client misbehaves on purpose; the lab plays ${ctx.victim.username}'s browser.`,
    outcome: 'info',
  });
  let notRun: string | undefined;
  try {
    notRun = (await lab.run(ctx)) ?? undefined;
  } catch (err) {
    if (!(err instanceof LabStop)) throw err;
  }
  const { observations } = ctx;
  const asExpected = notRun === undefined && observations.length > 0 && observations.every((o) => o.ok);
  recorder.record({
    role: 'client',
    title: notRun
      ? 'Lab: not run'
      : asExpected
        ? 'Lab: refused as expected — the defence held'
        : 'Lab: NOT the expected result',
    outcome: notRun ? 'info' : asExpected ? 'ok' : 'rejected',
  });
  return { switchId: lab.meta.id, asExpected, observations, ...(notRun ? { notRun } : {}) };
}
