// W3C Trace Context (https://www.w3.org/TR/trace-context/ §3.2): in workshop mode every flow the client app
// runs gets one trace id, and every request it makes for that flow to the authorization server and the
// resource server carries `traceparent: 00-<trace-id>-<parent-id>-01`, so each service can record its own
// steps under the same id and the inspector can show the three sides of one run together. The ids are made
// by @quartet/common's signedTraceId (the servers trace only ids signed with WORKSHOP_TRACE_SECRET).
import { randomBytes } from 'node:crypto';

const TRACE_ID = /^[0-9a-f]{32}$/;

export function isTraceId(value: string): boolean {
  return TRACE_ID.test(value) && !/^0+$/.test(value);
}

/** A traceparent header for one request of the trace: a fresh parent (span) id each time, sampled. */
export function traceparent(traceId: string): string {
  let parent = randomBytes(8).toString('hex');
  while (/^0+$/.test(parent)) parent = randomBytes(8).toString('hex');
  return `00-${traceId}-${parent}-01`;
}
