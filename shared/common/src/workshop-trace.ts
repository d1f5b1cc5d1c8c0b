// Workshop mode: each service tells, step by step, what it did for one OAuth flow, so an audience can watch
// the four roles at work. The client app starts a trace per flow and sends it along with W3C Trace Context
// (https://www.w3.org/TR/trace-context/ §3.2 `traceparent`); the authorization and resource servers record
// their steps under its trace-id and serve them at GET /workshop/traces/:traceId.
//
// Workshop-only by design:
// - the TraceStore lives in this process: every instance (replica) keeps its own steps, nothing is shared or
//   persisted, and a restart forgets them. It is bounded (traces, steps per trace, age) so a long workshop
//   cannot grow memory without limit.
// - steps are text meant for people. Callers never put tokens, codes, secrets, passwords or PKCE verifiers in
//   them (kids, scopes, client ids, usernames are fine); the trace endpoint is unauthenticated, the trace-id
//   being the only thing that names a trace.
// - only flows the client app started are traced: it signs each trace-id with WORKSHOP_TRACE_SECRET (the
//   second half of the id is an HMAC of the first, see signedTraceId), and the servers ignore a traceparent
//   whose id does not verify. A made-up traceparent can neither create nor extend a trace, so strangers can
//   neither fill the store nor evict the traces of a workshop.
// - with workshop mode off nothing is read or recorded, and the trace endpoint answers 404.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ConfigError } from './config.js';
import { describeError } from './error-handler.js';

/** W3C Trace Context §3.2.2: the fields of a `traceparent` header. */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero (the caller's span). */
  parentId: string;
  /** trace-flags bit 0 (§3.2.2.5). */
  sampled: boolean;
}

export const TRACE_ID_PATTERN = /^[0-9a-f]{32}$/;
const TRACEPARENT_PATTERN = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const isZero = (hex: string) => /^0+$/.test(hex);

/** True for a well-formed trace-id: 32 lowercase hex digits, not all zero (W3C Trace Context §3.2.2.3). */
export function isValidTraceId(value: string): boolean {
  return TRACE_ID_PATTERN.test(value) && !isZero(value);
}

/**
 * Parses a `traceparent` header. Anything malformed yields null (§3.2.2: "the vendor MUST ignore the
 * traceparent"), and then there is simply no trace: version ff, uppercase hex, all-zero ids, a repeated header
 * (Node joins repeats with ", "), and for version 00 anything after the flags. A later version may append
 * fields after a dash (§3.2.4); its first four fields are read the same way.
 */
export function parseTraceparent(header: string | string[] | undefined): TraceContext | null {
  if (typeof header !== 'string' || header.length > 512) return null;
  const match = TRACEPARENT_PATTERN.exec(header.trim());
  if (!match) return null;
  const [, version, traceId, parentId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (isZero(traceId) || isZero(parentId)) return null;
  return { traceId, parentId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** The `traceparent` header value (version 00) for `context`. */
export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.parentId}-${context.sampled ? '01' : '00'}`;
}

function randomHex(bytes: number): string {
  // All zero is invalid; with 64+ random bits it never happens, but a retry costs nothing.
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    if (!isZero(hex)) return hex;
  }
}

/** The shortest WORKSHOP_TRACE_SECRET accepted. */
export const MIN_TRACE_SECRET_LENGTH = 32;

/** WORKSHOP_TRACE_SECRET is required (at least 32 characters) when WORKSHOP_MODE is on; ConfigError otherwise. */
export function workshopTraceSecret(enabled: boolean, secret: string | undefined): string | undefined {
  if (enabled && (secret === undefined || secret.length < MIN_TRACE_SECRET_LENGTH)) {
    throw new ConfigError(
      `Invalid configuration: WORKSHOP_TRACE_SECRET (at least ${MIN_TRACE_SECRET_LENGTH} characters, the same ` +
        'in all three services) is required when WORKSHOP_MODE is true',
    );
  }
  return secret;
}

const traceMac = (secret: string, nonce: string) =>
  createHmac('sha256', secret).update(nonce).digest('hex').slice(0, 16);

/**
 * A trace-id the servers will accept: 16 random hex digits, then the first 16 hex digits (64 bits) of
 * HMAC-SHA256(secret, those digits). Still an ordinary W3C trace-id (32 lowercase hex digits).
 */
export function signedTraceId(secret: string): string {
  const nonce = randomHex(8);
  return nonce + traceMac(secret, nonce);
}

/** True when `traceId` was made by signedTraceId with this secret. */
export function isSignedTraceId(traceId: string, secret: string): boolean {
  if (!isValidTraceId(traceId)) return false;
  const expected = Buffer.from(traceMac(secret, traceId.slice(0, 16)));
  return timingSafeEqual(expected, Buffer.from(traceId.slice(16)));
}

/** A new trace (a trace-id signed with `secret`), sampled. */
export function newTraceContext(secret: string): TraceContext {
  return { traceId: signedTraceId(secret), parentId: randomHex(8), sampled: true };
}

/** The same trace with a new parent-id: what a caller sends on each outgoing request (§3.2.2.4). */
export function childTraceContext(context: TraceContext): TraceContext {
  return { ...context, parentId: randomHex(8) };
}

export type TraceOutcome = 'ok' | 'rejected' | 'info';

/** One step as the trace endpoint shows it. */
export interface TraceStep {
  /** ISO 8601 time the step happened. */
  at: string;
  role: string;
  title: string;
  detail?: string;
  outcome: TraceOutcome;
}

/** What a caller records; `at` defaults to now, `outcome` to ok. */
export interface StepInput {
  title: string;
  detail?: string;
  outcome?: TraceOutcome;
  at?: string;
}

/** Longest step title and detail kept; longer texts are cut. */
export const MAX_STEP_TITLE = 200;
export const MAX_STEP_DETAIL = 2000;

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);
/** Approximate bytes a step holds (UTF-16 strings: two bytes per character, plus the object). */
const stepBytes = (step: TraceStep) =>
  2 * (step.at.length + step.role.length + step.title.length + (step.detail?.length ?? 0)) + 64;

export interface TraceStoreOptions {
  /** Traces kept; the least recently updated is dropped beyond this. */
  maxTraces?: number;
  /** Bytes (approximately) of all steps together; the least recently updated traces are dropped beyond this. */
  maxBytes?: number;
  /** Steps kept per trace; later steps are dropped. */
  maxSteps?: number;
  /** A trace not updated for this long is dropped. */
  maxAgeMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface StoredTrace {
  updatedAt: number;
  steps: TraceStep[];
  bytes: number;
}

/**
 * Steps per trace-id, in this process only (each instance keeps its own). Bounded: at most maxTraces traces
 * of at most maxSteps steps, each dropped maxAgeMs after its last update. Steps are kept in time order, so
 * steps recorded late with their original time (the browser leg of a flow) land where they happened.
 */
export class TraceStore {
  readonly maxTraces: number;
  readonly maxBytes: number;
  readonly maxSteps: number;
  readonly maxAgeMs: number;
  private readonly now: () => number;
  // A Map iterates in insertion order; re-inserting on every update keeps it ordered by last update, so
  // both the oldest (to expire) and the least recently updated (to evict) are at the front.
  private readonly traces = new Map<string, StoredTrace>();
  private totalBytes = 0;

  constructor(options: TraceStoreOptions = {}) {
    this.maxTraces = options.maxTraces ?? 1000;
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.maxSteps = options.maxSteps ?? 200;
    this.maxAgeMs = options.maxAgeMs ?? 3_600_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    this.expire();
    return this.traces.size;
  }

  /** Approximate bytes held by all traces. */
  get bytes(): number {
    return this.totalBytes;
  }

  append(traceId: string, steps: readonly TraceStep[]): void {
    if (steps.length === 0) return;
    this.expire();
    const trace = this.traces.get(traceId) ?? { updatedAt: 0, steps: [], bytes: 0 };
    this.traces.delete(traceId);
    for (const input of steps) {
      if (trace.steps.length >= this.maxSteps) break;
      const step: TraceStep = {
        ...input,
        title: cut(input.title, MAX_STEP_TITLE),
        ...(input.detail !== undefined ? { detail: cut(input.detail, MAX_STEP_DETAIL) } : {}),
      };
      // Insert after every step at or before its time: stable, and a step recorded late goes where it belongs.
      let i = trace.steps.length;
      while (i > 0 && trace.steps[i - 1]!.at > step.at) i--;
      trace.steps.splice(i, 0, step);
      trace.bytes += stepBytes(step);
      this.totalBytes += stepBytes(step);
    }
    trace.updatedAt = this.now();
    this.traces.set(traceId, trace);
    while (this.traces.size > this.maxTraces || (this.totalBytes > this.maxBytes && this.traces.size > 1)) {
      this.drop(this.traces.keys().next().value!);
    }
  }

  private drop(traceId: string): void {
    const trace = this.traces.get(traceId);
    if (!trace) return;
    this.traces.delete(traceId);
    this.totalBytes -= trace.bytes;
  }

  /** The trace's steps in time order, or null when nothing (or nothing recent) was recorded for it. */
  get(traceId: string): TraceStep[] | null {
    this.expire();
    const trace = this.traces.get(traceId);
    return trace ? trace.steps.map((s) => ({ ...s })) : null;
  }

  clear(): void {
    this.traces.clear();
    this.totalBytes = 0;
  }

  private expire(): void {
    const cutoff = this.now() - this.maxAgeMs;
    for (const [id, trace] of this.traces) {
      if (trace.updatedAt > cutoff) break;
      this.drop(id);
    }
  }
}

/** The trace of one request: `record` is a no-op when the request carries no valid traceparent or workshop mode is off. */
export interface RequestTrace {
  /** The trace-id steps go to, or null when nothing is recorded for this request. */
  readonly traceId: string | null;
  record(step: StepInput): void;
  /** Records steps made earlier (e.g. the browser leg kept with an authorization code), keeping their times. */
  recordAll(steps: readonly TraceStep[]): void;
}

export const NO_TRACE: RequestTrace = Object.freeze({ traceId: null, record() {}, recordAll() {} });

export interface WorkshopTracing {
  readonly enabled: boolean;
  readonly service: string;
  readonly role: string;
  readonly store: TraceStore;
  /** A step stamped with now and this service's role (e.g. to keep with data and record later). */
  step(input: StepInput): TraceStep;
}

export interface WorkshopTracePluginOptions {
  /** WORKSHOP_MODE. */
  enabled: boolean;
  /** WORKSHOP_TRACE_SECRET: only trace-ids signed with it are traced (required when enabled). */
  secret?: string;
  /** `service` in the trace JSON, e.g. "authorization-server". */
  service: string;
  /** `role` of each step, e.g. "authorization server". */
  role: string;
  store?: TraceStore;
}

declare module 'fastify' {
  interface FastifyInstance {
    workshop: WorkshopTracing;
  }
  interface FastifyRequest {
    /** Workshop-mode trace of this request (see @quartet/common workshop-trace). */
    trace: RequestTrace;
  }
}

export const TRACES_PATH = '/workshop/traces/:traceId';

function makeStep(role: string, input: StepInput): TraceStep {
  return {
    at: input.at ?? new Date().toISOString(),
    role,
    title: input.title,
    ...(input.detail !== undefined ? { detail: input.detail } : {}),
    outcome: input.outcome ?? 'ok',
  };
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/**
 * Reads `traceparent` into `request.trace`, records every error answer of a traced request as a rejected step
 * (its error code and description, exactly as sent), and serves GET /workshop/traces/:traceId.
 */
export const workshopTrace = fp(
  async (app: FastifyInstance, options: WorkshopTracePluginOptions) => {
    const store = options.store ?? new TraceStore();
    const secret = workshopTraceSecret(options.enabled, options.secret) ?? '';
    const signed = (traceId: string) => options.enabled && isSignedTraceId(traceId, secret);
    const tracing: WorkshopTracing = {
      enabled: options.enabled,
      service: options.service,
      role: options.role,
      store,
      step: (input) => makeStep(options.role, input),
    };
    app.decorate('workshop', tracing);
    app.decorateRequest('trace', null as unknown as RequestTrace);

    app.addHook('onRequest', async (request) => {
      const context = options.enabled ? parseTraceparent(request.headers.traceparent) : null;
      if (!context || !signed(context.traceId)) {
        request.trace = NO_TRACE;
        return;
      }
      const { traceId } = context;
      request.trace = {
        traceId,
        record: (input) => store.append(traceId, [makeStep(options.role, input)]),
        recordAll: (steps) => store.append(traceId, steps),
      };
    });

    // Every error answer of a traced request becomes a rejected step with the code and description it sent
    // (the same mapping as the error serializer), so no route has to remember to record its rejections.
    app.addHook('onError', async (request, _reply, error) => {
      if (!request.trace?.traceId) return;
      const { status, body } = describeError(error);
      request.trace.record({
        title: `Rejected: ${body.error}`,
        detail: `HTTP ${status}: ${body.error_description}`,
        outcome: 'rejected',
      });
    });

    app.get<{ Params: { traceId: string } }>(TRACES_PATH, async (request, reply) => {
      reply.headers(NO_STORE);
      if (!options.enabled) return reply.code(404).send({ error: 'not_found' });
      const { traceId } = request.params;
      if (!isValidTraceId(traceId)) {
        return reply.code(400).send({
          error: 'invalid_request',
          error_description: 'traceId must be 32 lowercase hex digits, not all zero (W3C Trace Context).',
        });
      }
      // A trace-id the client app did not sign can hold no steps.
      if (!signed(traceId)) return reply.code(404).send({ error: 'not_found', error_description: 'No such trace.' });
      // A trace nobody recorded steps for (yet) is not an error: the other services may have recorded some.
      return { traceId, service: options.service, steps: store.get(traceId) ?? [] };
    });
  },
  { name: 'workshop-trace', fastify: '5.x' },
);
