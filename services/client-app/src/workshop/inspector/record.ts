// Workshop mode, flow inspector: the recording helpers shared by the workshop subscriber of the client's
// protocol events (plugins/workshop-recorder.ts) and the lab, which records its raw requests itself. Each
// takes the flow's recorder (nothing happens without one) and records one step with its display sections.
import type { FlowRecorder, Row, StepInput } from './store.js';
import type { AssertionShown } from '../../oauth/events.js';
import {
  accessTokenSections,
  confirmationJkt,
  decodeJwt,
  dpopProofSections,
  formRequestSections,
  jsonResponseSections,
  keyBindingRows,
  shorten,
} from './present.js';

/** Records a request the client sends, showing the traceparent it carries (`sent`, or a new one); returns it. */
function recordOutgoing(
  recorder: FlowRecorder | undefined,
  sent: string | undefined,
  step: (traceparent: string) => StepInput,
): string | undefined {
  if (!recorder) return undefined;
  const header = sent ?? recorder.traceparent();
  recorder.record(step(header));
  return header;
}

/**
 * Records the token (or revoke, introspect) request; returns the traceparent to send with it (`sent`, the
 * one the protocol code already put on the request, or a new one).
 */
export function recordFormRequest(
  recorder: FlowRecorder | undefined,
  title: string,
  endpoint: string,
  clientId: string | null,
  params: Record<string, string>,
  sent?: string,
  assertion?: AssertionShown,
): string | undefined {
  return recordOutgoing(recorder, sent, (header) => ({
    role: 'client',
    to: 'authorization server',
    title,
    outcome: 'info',
    sections: formRequestSections(endpoint, clientId, params, header, assertion),
  }));
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
  dpopJkt?: string,
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
    sections: [
      ...accessTokenSections(decoded),
      // Requested with a DPoP proof: is the token bound to that key (RFC 9449 §6.1)?
      ...(dpopJkt ? [{ heading: 'Key binding', rows: keyBindingRows(confirmationJkt(decoded.claims), dpopJkt) }] : []),
    ],
    ...(typeof exp === 'number' ? { expiresAt: exp } : {}),
  });
}

/** Records a Bearer call to the resource server; returns the traceparent to send (`sent`, or a new one). */
export function recordApiRequest(
  recorder: FlowRecorder | undefined,
  method: string,
  url: string,
  accessToken: string,
  sent?: string,
  scheme: 'Bearer' | 'DPoP' = 'Bearer',
): string | undefined {
  return recordOutgoing(recorder, sent, (header) => ({
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
            value: `${scheme} ${shorten(accessToken)}`,
            note:
              scheme === 'DPoP'
                ? 'RFC 9449 §7.1: a DPoP-bound token, sent with a proof of the key (next step); shortened here.'
                : 'RFC 6750 §2.1; the token is shortened here.',
          },
          { name: 'traceparent', value: header },
        ],
      },
    ],
  }));
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
      note: 'RFC 6750 §3 (Bearer) / RFC 9449 §7.1 (DPoP): why the token was refused.',
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

/** Records a DPoP proof the client sends (RFC 9449 §4): decoded, with its key's thumbprint and the token's cnf.jkt. */
export function recordDpopProof(
  recorder: FlowRecorder | undefined,
  to: 'authorization server' | 'resource server',
  proof: string,
  keyJkt: string | undefined,
  accessToken?: string,
): void {
  recorder?.record({
    role: 'client',
    to,
    title: 'DPoP proof (header DPoP)',
    detail: "A fresh JWT signed with the key kept in this browser's server-side session; decoded here, unverified.",
    outcome: 'info',
    sections: dpopProofSections(proof, keyJkt, accessToken),
  });
}
