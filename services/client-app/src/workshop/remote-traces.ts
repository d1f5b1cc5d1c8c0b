// Workshop mode: the authorization server's and the resource server's own steps for a trace, read from
// `GET {server}/workshop/traces/:traceId` (the servers' workshop trace endpoint), merged with the client's steps by time.
// A server that is down, not in workshop mode (404), slow or answering garbage is "not available": the
// inspector still shows the client's side. What comes back is untrusted text: it is validated, bounded and
// later escaped by the templates and the SVG renderer.
import { requestIdHeaders } from '@quartet/common';
import type { Role, Step } from './inspector/store.js';

const TIMEOUT_MS = 2000;
const MAX_STEPS = 200;
const MAX_TEXT = 2000;

export interface RemoteTrace {
  service: 'authorization server' | 'resource server';
  available: boolean;
  /** Why not, for the page ("not in workshop mode", "unreachable"). */
  reason?: string;
  steps: Step[];
}

const OUTCOMES = new Set(['ok', 'rejected', 'info']);

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, MAX_TEXT) : undefined;
}

/** Keeps only well-formed steps; a server only speaks for its own role. */
export function parseRemoteSteps(body: unknown, role: Role): Step[] {
  const steps = (body as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return [];
  const result: Step[] = [];
  for (const raw of steps.slice(0, MAX_STEPS) as Record<string, unknown>[]) {
    if (!raw || typeof raw !== 'object') continue;
    const at = text(raw.at);
    const title = text(raw.title);
    if (!at || Number.isNaN(Date.parse(at)) || !title) continue;
    const outcome = OUTCOMES.has(raw.outcome as string) ? (raw.outcome as Step['outcome']) : 'info';
    const detail = text(raw.detail);
    result.push({ at, role, title, outcome, ...(detail ? { detail } : {}) });
  }
  return result;
}

export async function fetchRemoteTrace(
  baseUrl: string,
  service: RemoteTrace['service'],
  traceId: string,
): Promise<RemoteTrace> {
  try {
    const response = await fetch(`${baseUrl}/workshop/traces/${encodeURIComponent(traceId)}`, {
      headers: { accept: 'application/json', ...requestIdHeaders() },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return {
        service,
        available: false,
        reason: 'not available (no steps for this trace, or the server is not in workshop mode)',
        steps: [],
      };
    }
    if (!response.ok) {
      await response.body?.cancel();
      return { service, available: false, reason: `not available (it answered ${response.status})`, steps: [] };
    }
    return { service, available: true, steps: parseRemoteSteps(await response.json(), service) };
  } catch {
    return { service, available: false, reason: 'not available (unreachable)', steps: [] };
  }
}

/** Client and server steps in time order; steps at the same instant keep their order (client first). */
export function mergeSteps(client: readonly Step[], ...remote: (readonly Step[])[]): Step[] {
  const all = [client, ...remote].flatMap((steps, source) =>
    steps.map((step, index) => ({ step, source, index, time: Date.parse(step.at) })),
  );
  all.sort((a, b) => a.time - b.time || a.source - b.source || a.index - b.index);
  return all.map((e) => e.step);
}
