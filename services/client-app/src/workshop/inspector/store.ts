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
// This module is the store only; what a step shows (and what may be shown) is workshop/inspector/present.ts.
import { traceparent } from '../trace.js';

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

/** What a lab run observed (see workshop/lab/); kept with its flow so the lab page can show it after a redirect. */
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
