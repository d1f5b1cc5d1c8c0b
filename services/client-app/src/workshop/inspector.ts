// Workshop mode, flow inspector: every flow the client app runs (a connect, the refreshes and API calls made
// with its tokens, the logout that revokes them, and every lab run) is recorded as a sequence of steps, each
// labelled with the OAuth role that acted (RFC 6749 §1.1): resource owner, client, authorization server,
// resource server. The inspector page merges them with the steps the two servers recorded for the same W3C
// trace id and draws them as a sequence diagram.
//
// Where the record lives: a BOUNDED IN-PROCESS store in this module, keyed by a random per-browser id kept in
// its own HttpOnly cookie (`quartet_client_inspector`), not by the session id: the session id changes at
// connect (session fixation defence) and disappears at logout, and the inspector must show both. It is
// workshop-only state — lost on restart, not shared between instances — and bounded in every direction
// (browsers, flows per browser, steps per flow, age), so a room full of laptops cannot grow it without limit.
//
// What may be recorded: the client's own PKCE verifier (it is shown to its own user, after the flow: that is
// the point of a workshop), state and iss in full; codes, access and refresh tokens only shortened (first 8
// characters + "…"); the client secret never (the Authorization header is shown masked).
import { createHash } from 'node:crypto';
import { traceparent } from './trace.js';

export type Role = 'resource owner' | 'client' | 'authorization server' | 'resource server';
export const ROLES: readonly Role[] = ['resource owner', 'client', 'authorization server', 'resource server'];
export type Outcome = 'ok' | 'rejected' | 'info';

export interface Row {
  name: string;
  value: string;
  note?: string;
}

export interface Section {
  heading: string;
  rows?: Row[];
  /** Preformatted text (e.g. the PKCE computation). */
  text?: string;
}

export interface Step {
  at: string;
  role: Role;
  /** The role this step sends something to (an arrow in the diagram); without it, a note on the actor's lifeline. */
  to?: Role;
  title: string;
  detail?: string;
  outcome: Outcome;
  sections?: Section[];
  /** Epoch seconds the page counts down to (an access token's exp). */
  expiresAt?: number;
}

export type StepInput = Omit<Step, 'at'> & { at?: string };

/** What a lab run observed (see lab.ts); kept with its flow so the lab page can show it after a redirect. */
export interface LabOutcome {
  switchId: string;
  asExpected: boolean;
  observations: LabObservation[];
  /** Set when the switch could not run at all (e.g. no expired token yet and the wait would be too long). */
  notRun?: string;
}

export interface LabObservation {
  label: string;
  by: Role;
  status?: number;
  error?: string;
  errorDescription?: string;
  /** The AS error page's heading (redirect URI case). */
  title?: string;
  /** RFC 7662 `active` (introspection). */
  active?: boolean;
  expected: string;
  ok: boolean;
}

export interface Flow {
  traceId: string;
  label: string;
  startedAt: string;
  steps: Step[];
  lab?: LabOutcome;
}

export const INSPECTOR_COOKIE = 'quartet_client_inspector';

export interface InspectorLimits {
  browsers: number;
  flowsPerBrowser: number;
  stepsPerFlow: number;
  /** A browser's record is dropped this long after its last new flow or step. */
  ttlMs: number;
}

export const DEFAULT_LIMITS: InspectorLimits = {
  browsers: 500,
  flowsPerBrowser: 20,
  stepsPerFlow: 200,
  ttlMs: 4 * 3600 * 1000,
};

interface BrowserRecord {
  flows: Flow[];
  touchedAt: number;
}

/** Records the steps of one flow; hands out a traceparent per request of the flow. */
export class FlowRecorder {
  constructor(
    readonly flow: Flow,
    private readonly maxSteps: number,
    private readonly touch: () => void,
  ) {}

  get traceId(): string {
    return this.flow.traceId;
  }

  traceparent(): string {
    return traceparent(this.flow.traceId);
  }

  record(input: StepInput): void {
    this.touch();
    // Past the bound the newest steps are dropped, with one marker saying so: the start of a flow is what teaches.
    if (this.flow.steps.length > this.maxSteps) return;
    if (this.flow.steps.length === this.maxSteps) {
      this.flow.steps.push({
        at: new Date().toISOString(),
        role: 'client',
        title: 'Further steps not recorded (inspector limit)',
        outcome: 'info',
      });
      return;
    }
    this.flow.steps.push({ ...input, at: input.at ?? new Date().toISOString() });
  }
}

export class InspectorStore {
  private readonly browsers = new Map<string, BrowserRecord>();

  constructor(readonly limits: InspectorLimits = DEFAULT_LIMITS) {}

  get size(): number {
    return this.browsers.size;
  }

  private live(browserId: string): BrowserRecord | undefined {
    const record = this.browsers.get(browserId);
    if (record && Date.now() - record.touchedAt > this.limits.ttlMs) {
      this.browsers.delete(browserId);
      return undefined;
    }
    return record;
  }

  private touch(browserId: string, record: BrowserRecord): void {
    record.touchedAt = Date.now();
    // Map order is insertion order: re-inserting makes this the most recently used browser.
    this.browsers.delete(browserId);
    this.browsers.set(browserId, record);
    while (this.browsers.size > this.limits.browsers) {
      const oldest = this.browsers.keys().next().value as string;
      this.browsers.delete(oldest);
    }
  }

  startFlow(browserId: string, traceId: string, label: string): FlowRecorder {
    const record = this.live(browserId) ?? { flows: [], touchedAt: Date.now() };
    const flow: Flow = { traceId, label, startedAt: new Date().toISOString(), steps: [] };
    record.flows.push(flow);
    if (record.flows.length > this.limits.flowsPerBrowser)
      record.flows.splice(0, record.flows.length - this.limits.flowsPerBrowser);
    this.touch(browserId, record);
    return this.recorderFor(browserId, record, flow);
  }

  private recorderFor(browserId: string, record: BrowserRecord, flow: Flow): FlowRecorder {
    return new FlowRecorder(flow, this.limits.stepsPerFlow, () => {
      if (this.browsers.get(browserId) === record) this.touch(browserId, record);
    });
  }

  /** The browser's flows, newest first. */
  flows(browserId: string): Flow[] {
    return [...(this.live(browserId)?.flows ?? [])].reverse();
  }

  find(browserId: string, traceId: string): Flow | undefined {
    return this.live(browserId)?.flows.find((f) => f.traceId === traceId);
  }

  /** A recorder for an existing flow of this browser, or undefined (evicted, or another browser's trace). */
  recorder(browserId: string, traceId: string): FlowRecorder | undefined {
    const record = this.live(browserId);
    const flow = record?.flows.find((f) => f.traceId === traceId);
    return record && flow ? this.recorderFor(browserId, record, flow) : undefined;
  }
}

// --- display helpers -------------------------------------------------------------------------------------

/** Codes and tokens are shown as their first 8 characters and an ellipsis: enough to tell them apart. */
export function shorten(value: string): string {
  return `${value.slice(0, 8)}…`;
}

/**
 * The client_secret_basic header as shown: never the secret, and never the base64 of it either (base64 is an
 * encoding, anyone can decode it).
 */
export function maskedBasic(clientId: string): string {
  return `Basic base64(${encodeURIComponent(clientId)}:••••••••)`;
}

const AUTHORIZATION_PARAMS: Record<string, string> = {
  response_type: '"code": the authorization code grant (RFC 6749 §4.1); the token never travels through the browser.',
  client_id: 'Who is asking: the client registered at the authorization server.',
  redirect_uri: 'Where the browser comes back with the code; must match a registered URI exactly (RFC 9700 §2.1).',
  scope: 'What the client asks permission for; the user sees and approves these (RFC 6749 §3.3).',
  state:
    "A one-time random value bound to this browser's session: the callback must bring it back (CSRF defence, RFC 6749 §10.12).",
  code_challenge:
    'BASE64URL(SHA-256(code_verifier)): commits the client to a secret only it knows (PKCE, RFC 7636 §4.2).',
  code_challenge_method:
    '"S256" — "plain" would put the verifier itself in the browser\'s address bar (RFC 9700 §2.1.1).',
  resource: 'The resource server the token is for: its `aud` (RFC 8707 resource indicators).',
};

const CALLBACK_PARAMS: Record<string, string> = {
  code: 'The one-time authorization code (valid for seconds, usable once, bound to the PKCE challenge).',
  state: "Must equal the state this browser's session sent (RFC 6749 §10.12).",
  iss: 'Who issued the response: must be our authorization server (RFC 9207 mix-up defence).',
  error: 'The authorization server refused (RFC 6749 §4.1.2.1).',
  error_description: 'A human-readable explanation from the authorization server.',
};

const TOKEN_PARAMS: Record<string, string> = {
  grant_type: 'Which grant is being redeemed (RFC 6749 §4.1.3 / §6).',
  code: 'The authorization code from the callback.',
  redirect_uri: 'Must equal the one in the authorization request (RFC 6749 §4.1.3).',
  code_verifier: 'The PKCE secret: the AS hashes it and compares with the code_challenge (RFC 7636 §4.6).',
  refresh_token: 'The refresh token being spent; the AS rotates it (RFC 9700 §4.14.2).',
  resource: 'The resource the token is for (RFC 8707).',
  scope: 'The scope asked for (may only narrow the grant).',
  token: 'The token to revoke or introspect.',
  token_type_hint: 'Where the AS should look first (RFC 7009 §2.1).',
};

const TOKEN_RESPONSE_FIELDS: Record<string, string> = {
  access_token: 'The token the client presents to the resource server (a JWT, RFC 9068).',
  token_type: '"Bearer": whoever holds it may use it (RFC 6750) — hence short lifetimes.',
  expires_in: 'Seconds until the access token expires.',
  scope: 'What was actually granted (may be less than asked).',
  refresh_token: 'Lets the client get new access tokens without the user; rotated on every use.',
  error: 'The OAuth error code (RFC 6749 §5.2).',
  error_description: "The server's explanation.",
  active: 'RFC 7662: whether the token is currently valid at the authorization server.',
};

const SECRET_VALUES = new Set(['access_token', 'refresh_token', 'code', 'token']);

const HEADER_EXPLANATIONS: Record<string, string> = {
  typ: '"at+jwt": an access token (RFC 9068 §2.1), so it cannot be confused with an ID token.',
  alg: 'The signature algorithm; the resource server accepts only ES256 (an allow-list, never "none").',
  kid: "Which of the authorization server's published keys (JWKS) signed it.",
};

const CLAIM_EXPLANATIONS: Record<string, string> = {
  iss: 'Issuer: the authorization server that signed it; the resource server checks it.',
  sub: 'Subject: the user the token acts for (the resource owner).',
  aud: 'Audience: the resource server this token is for; any other must refuse it (RFC 8707).',
  client_id: 'The client the token was issued to.',
  scope: 'What the token allows; the resource server checks it per route.',
  jti: 'A unique id for this token (used for revocation).',
  iat: 'Issued at.',
  exp: 'Expires at: after this (plus a small clock tolerance) the resource server refuses it.',
  nbf: 'Not valid before.',
  auth_time: 'When the user logged in.',
  grant_id: 'The grant (consent) this token belongs to at the authorization server.',
};

function explain(table: Record<string, string>, name: string): string | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

function row(name: string, value: string, note: string | undefined): Row {
  return note ? { name, value, note } : { name, value };
}

function timeValue(value: unknown): string {
  return typeof value === 'number' ? `${value} (${new Date(value * 1000).toISOString()})` : JSON.stringify(value);
}

/** The authorization request's parameters, each explained, and the PKCE verifier → challenge computation. */
export function authorizationRequestSections(url: URL, codeVerifier: string | undefined): Section[] {
  const params: Row[] = [...url.searchParams].map(([name, value]) =>
    row(name, value, explain(AUTHORIZATION_PARAMS, name)),
  );
  const sections: Section[] = [
    { heading: 'Authorization request URL', text: url.href },
    { heading: 'Parameters', rows: params },
  ];
  if (codeVerifier !== undefined) {
    const digest = createHash('sha256').update(codeVerifier, 'ascii').digest();
    sections.push({
      heading: 'PKCE: verifier → challenge (RFC 7636 §4.1-4.2)',
      text: [
        `code_verifier          = ${codeVerifier}`,
        "                         (random, kept on the client's server, never sent to the browser)",
        `SHA-256(code_verifier) = ${digest.toString('hex')}`,
        `code_challenge         = BASE64URL(SHA-256(code_verifier)) = ${digest.toString('base64url')}`,
        `sent in the URL        = ${url.searchParams.get('code_challenge') ?? '(none)'} (method ${url.searchParams.get('code_challenge_method') ?? 'none'})`,
      ].join('\n'),
    });
  }
  return sections;
}

export interface CallbackCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export function callbackSections(parameters: URLSearchParams, checks: CallbackCheck[]): Section[] {
  return [
    {
      heading: 'Parameters',
      rows: [...parameters].map(([name, value]) =>
        row(name, name === 'code' ? shorten(value) : value, explain(CALLBACK_PARAMS, name)),
      ),
    },
    {
      heading: 'Checks made by the client',
      rows: checks.map((c) => ({ name: `${c.ok ? '✔' : '✘'} ${c.name}`, value: c.detail })),
    },
  ];
}

/** A form request to the AS (token, revoke, introspect) as shown: masked Basic credentials, tokens shortened. */
export function formRequestSections(
  endpoint: string,
  clientId: string,
  params: Record<string, string>,
  traceparentValue: string,
): Section[] {
  return [
    {
      heading: 'HTTP request',
      rows: [
        { name: 'POST', value: endpoint },
        {
          name: 'Authorization',
          value: maskedBasic(clientId),
          note: 'client_secret_basic (RFC 6749 §2.3.1); the secret is masked here and never leaves the client app.',
        },
        { name: 'Content-Type', value: 'application/x-www-form-urlencoded' },
        {
          name: 'traceparent',
          value: traceparentValue,
          note: 'W3C Trace Context: lets each service record its steps for this run.',
        },
      ],
    },
    {
      heading: 'Body',
      rows: Object.entries(params).map(([name, value]) =>
        row(name, SECRET_VALUES.has(name) ? shorten(value) : value, explain(TOKEN_PARAMS, name)),
      ),
    },
  ];
}

/** A JSON answer of the AS as shown, tokens shortened. */
export function jsonResponseSections(status: number, body: Record<string, unknown> | null): Section[] {
  const rows: Row[] = [{ name: 'status', value: String(status) }];
  for (const [name, value] of Object.entries(body ?? {})) {
    const shown =
      typeof value === 'string' && SECRET_VALUES.has(name)
        ? shorten(value)
        : typeof value === 'string'
          ? value
          : JSON.stringify(value);
    rows.push(row(name, shown, explain(TOKEN_RESPONSE_FIELDS, name)));
  }
  return [{ heading: 'HTTP response', rows }];
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** Decodes a JWT WITHOUT verifying it: for display only (the client treats access tokens as opaque). */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as unknown;
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    if (!header || typeof header !== 'object' || !claims || typeof claims !== 'object') return null;
    return { header: header as Record<string, unknown>, claims: claims as Record<string, unknown> };
  } catch {
    return null;
  }
}

export function accessTokenSections(decoded: DecodedJwt): Section[] {
  const value = (name: string, v: unknown) =>
    ['iat', 'exp', 'nbf', 'auth_time'].includes(name) ? timeValue(v) : typeof v === 'string' ? v : JSON.stringify(v);
  return [
    {
      heading: 'Header',
      rows: Object.entries(decoded.header).map(([n, v]) => row(n, value(n, v), explain(HEADER_EXPLANATIONS, n))),
    },
    {
      heading: 'Claims',
      rows: Object.entries(decoded.claims).map(([n, v]) => row(n, value(n, v), explain(CLAIM_EXPLANATIONS, n))),
    },
  ];
}

// --- recording helpers shared by the real client and the lab ---------------------------------------------

/** Records the token (or revoke, introspect) request; returns the traceparent to send with it. */
export function recordFormRequest(
  recorder: FlowRecorder | undefined,
  title: string,
  endpoint: string,
  clientId: string,
  params: Record<string, string>,
): string | undefined {
  if (!recorder) return undefined;
  const header = recorder.traceparent();
  recorder.record({
    role: 'client',
    to: 'authorization server',
    title,
    outcome: 'info',
    sections: formRequestSections(endpoint, clientId, params, header),
  });
  return header;
}

export function recordJsonResponse(
  recorder: FlowRecorder | undefined,
  title: string,
  status: number,
  body: Record<string, unknown> | null,
  rejected = status >= 400,
): void {
  recorder?.record({
    role: 'authorization server',
    to: 'client',
    title:
      rejected && body && typeof body.error === 'string' ? `${title}: ${status} ${body.error}` : `${title}: ${status}`,
    outcome: rejected ? 'rejected' : 'ok',
    ...(rejected && typeof body?.error_description === 'string' ? { detail: body.error_description } : {}),
    sections: jsonResponseSections(status, body),
  });
}

/** Decodes the access token and records header and claims, each explained, with its expiry to count down. */
export function recordAccessToken(
  recorder: FlowRecorder | undefined,
  accessToken: string,
  title = 'Access token decoded',
): void {
  if (!recorder) return;
  const decoded = decodeJwt(accessToken);
  if (!decoded) {
    recorder.record({
      role: 'client',
      title,
      detail: `${shorten(accessToken)} is not a JWT; the client treats access tokens as opaque anyway.`,
      outcome: 'info',
    });
    return;
  }
  const exp = decoded.claims.exp;
  recorder.record({
    role: 'client',
    title,
    detail: `${shorten(accessToken)} — the client does not need to read it (it is for the resource server); it is decoded here, unverified, for the workshop.`,
    outcome: 'info',
    sections: accessTokenSections(decoded),
    ...(typeof exp === 'number' ? { expiresAt: exp } : {}),
  });
}

/** Records a Bearer call to the resource server; returns the traceparent to send. */
export function recordApiRequest(
  recorder: FlowRecorder | undefined,
  method: string,
  url: string,
  accessToken: string,
): string | undefined {
  if (!recorder) return undefined;
  const header = recorder.traceparent();
  recorder.record({
    role: 'client',
    to: 'resource server',
    title: `${method} ${new URL(url).pathname}`,
    outcome: 'info',
    sections: [
      {
        heading: 'HTTP request',
        rows: [
          { name: method, value: url },
          {
            name: 'Authorization',
            value: `Bearer ${shorten(accessToken)}`,
            note: 'RFC 6750 §2.1; the token is shortened here.',
          },
          { name: 'traceparent', value: header },
        ],
      },
    ],
  });
  return header;
}

export function recordApiResponse(
  recorder: FlowRecorder | undefined,
  path: string,
  status: number,
  error?: { error?: string | undefined; description?: string | undefined; wwwAuthenticate?: string | null },
): void {
  if (!recorder) return;
  const rows: Row[] = [{ name: 'status', value: String(status) }];
  if (error?.wwwAuthenticate)
    rows.push({
      name: 'WWW-Authenticate',
      value: error.wwwAuthenticate,
      note: 'RFC 6750 §3: why the token was refused.',
    });
  if (error?.error) rows.push({ name: 'error', value: error.error });
  if (error?.description) rows.push({ name: 'error_description', value: error.description });
  recorder.record({
    role: 'resource server',
    to: 'client',
    title: `${path}: ${status}${error?.error ? ` ${error.error}` : ''}`,
    outcome: status < 400 ? 'ok' : 'rejected',
    ...(error?.description ? { detail: error.description } : {}),
    sections: [{ heading: 'HTTP response', rows }],
  });
}

/** Reads error and error_description from a WWW-Authenticate: Bearer challenge (RFC 6750 §3). */
export function parseBearerChallenge(header: string | null): { error?: string; description?: string } {
  if (!header) return {};
  const error = /\berror="([^"]*)"/.exec(header)?.[1];
  const description = /\berror_description="([^"]*)"/.exec(header)?.[1];
  return { ...(error ? { error } : {}), ...(description ? { description } : {}) };
}
