// Workshop mode: turns the protocol events (domain/events.ts) into the steps of GET /workshop/traces/:traceId
// (texts in lib/workshop-steps.ts). The token, revocation and introspection requests carry the client app's
// traceparent, so their steps go straight to request.trace. The browser leg (authorize, login, consent) carries
// none: its steps wait here, in this process's memory, under the pending request's id, then under the code
// issued for it, and join the trace of the request that redeems that code. Nothing of this reaches a store.
// With workshop mode off nothing subscribes.
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { StepInput, TraceStep } from '@quartet/common';
import { decodeProtectedHeader } from 'jose';
import type { CodeData } from '../domain/records.js';
import { hashToken } from '../lib/token-hash.js';
import * as steps from '../lib/workshop-steps.js';

/**
 * Steps waiting for a trace, by key, each list dropped `ttlMs` after it was started and the oldest dropped
 * beyond `maxEntries`: anyone can start an authorization, so this must not grow without bound.
 */
export class PendingSteps {
  // A Map iterates in insertion order: the oldest entry is first.
  private readonly entries = new Map<string, { steps: TraceStep[]; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    this.expire();
    return this.entries.size;
  }

  add(key: string, added: TraceStep[]): void {
    this.expire();
    const entry = this.entries.get(key);
    if (entry) entry.steps.push(...added);
    else this.entries.set(key, { steps: [...added], until: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  take(key: string): TraceStep[] {
    this.expire();
    const entry = this.entries.get(key);
    this.entries.delete(key);
    return entry?.steps ?? [];
  }

  private expire(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.until > now) break;
      this.entries.delete(key);
    }
  }
}

/**
 * The checks of a claimed code, in the order the token endpoint runs them (oauth/token-grants.ts); `applies`:
 * only for some codes (the DPoP key, for a code bound to one).
 */
const CODE_CHECKS: {
  reason: string;
  passed: (data: CodeData, client: string) => StepInput;
  failed?: StepInput;
  applies?: (data: CodeData) => boolean;
}[] = [
  { reason: 'code-other-client', passed: (_data, client) => steps.sameClient(client) },
  { reason: 'redirect-uri-mismatch', passed: (data) => steps.redirectUriMatches(data) },
  { reason: 'pkce-mismatch', passed: () => steps.pkceVerified(), failed: steps.pkceFailed() },
  {
    reason: 'code-dpop-key-mismatch',
    passed: (data) => steps.codeKeyMatches(data),
    failed: steps.codeKeyMismatch(),
    applies: (data) => data.dpopJkt !== undefined,
  },
];

/** The steps of the checks before the one that refused with `reason` (all of them for a later refusal). */
function codeCheckSteps(data: CodeData, clientId: string, reason?: string): StepInput[] {
  const out: StepInput[] = [];
  for (const check of CODE_CHECKS) {
    if (check.reason === reason) return check.failed ? [...out, check.failed] : out;
    if (check.applies?.(data) ?? true) out.push(check.passed(data, clientId));
  }
  return out;
}

async function workshopTracing(app: FastifyInstance): Promise<void> {
  const { workshop, events, config } = app;
  if (!workshop.enabled) return;
  const byRequest = new PendingSteps(config.AUTHORIZATION_REQUEST_TTL * 1000, config.MAX_PENDING_AUTHORIZATIONS);
  const byCode = new PendingSteps(config.AUTHORIZATION_CODE_TTL * 1000, config.MAX_PENDING_AUTHORIZATIONS);
  // The code a token request claimed, for the steps of its checks (the request object is the key).
  const claimed = new WeakMap<FastifyRequest, CodeData>();
  const note = (requestId: string, step: StepInput) => byRequest.add(requestId, [workshop.step(step)]);
  const record = (request: FastifyRequest, ...list: StepInput[]) => list.forEach((s) => request.trace.record(s));

  events.on('authorization.validated', ({ requestId, authorization, pushed }) =>
    note(requestId, pushed ? steps.pushedRequestUsed(authorization) : steps.requestValidated(authorization)),
  );
  // The push carries the client's traceparent (RFC 9126 §2): its step goes straight to the trace.
  events.on('par.pushed', ({ request, authorization, expiresIn }) =>
    record(request, steps.requestPushed(authorization, expiresIn)),
  );
  events.on('login.session-found', ({ requestId, username }) => note(requestId, steps.sessionFound(username)));
  events.on('login.succeeded', ({ requestId, username }) => requestId && note(requestId, steps.loggedIn(username)));
  // Not the username: a password typed into the wrong field must not end up in a trace.
  events.on(
    'login.failed',
    ({ requestId }) =>
      requestId &&
      note(requestId, {
        title: 'Login failed',
        detail: 'Wrong username or password; the login page is shown again.',
        outcome: 'rejected',
      }),
  );
  events.on('consent.shown', ({ requestId, username, clientId, scopes }) =>
    note(requestId, steps.consentShown(username, clientId, scopes)),
  );
  events.on('consent.approved', ({ requestId, clientId, scopes }) =>
    note(requestId, steps.consentApproved(clientId, scopes)),
  );
  events.on('consent.remembered', ({ requestId, clientId, scopes }) =>
    note(requestId, steps.consentRemembered(clientId, scopes)),
  );
  events.on('code.issued', ({ requestId, code, data, ttlSeconds }) => {
    const browserLeg = [...byRequest.take(requestId), workshop.step(steps.codeIssued(data, ttlSeconds))];
    byCode.add(hashToken(code), browserLeg);
  });

  events.on('client.authenticated', ({ request, client, method }) =>
    record(request, steps.clientAuthenticated(client, method)),
  );
  events.on('token.requested', ({ request, grantType }) => record(request, steps.grantType(grantType)));
  events.on('code.claimed', ({ request, code, data }) => {
    // The browser leg joins this trace with its own times (TraceStore keeps steps in time order).
    const browserLeg = byCode.take(hashToken(code));
    if (request.trace.traceId) request.trace.recordAll(browserLeg);
    claimed.set(request, data);
    record(request, steps.codeConsumed());
  });
  events.on('code.verified', ({ request, client, data }) => record(request, ...codeCheckSteps(data, client.id)));
  events.on('code.replayed', ({ request, grantId }) =>
    record(request, steps.codeNotFound(), steps.codeReplayed(grantId)),
  );
  events.on('check.failed', ({ request, reason, clientId }) => {
    if (reason === 'code-invalid') return record(request, steps.codeNotFound());
    const data = claimed.get(request);
    // A refusal after the claim that is not one of the code checks (resource) comes after all of them.
    if (data && clientId && reason !== 'code-replayed') record(request, ...codeCheckSteps(data, clientId, reason));
  });
  events.on('refresh.rotated', ({ request, grant }) => record(request, steps.refreshTokenRotated(grant.id)));
  events.on('refresh.kept', ({ request, grant }) => record(request, steps.refreshTokenKept(grant.id)));
  events.on('refresh.reused', ({ request, grant }) => record(request, steps.refreshReuse(grant.id)));
  events.on('token.issued', ({ request, client, grantType, token, audience, refreshTokenIssued }) => {
    if (!request.trace.traceId) return;
    if (grantType === 'client_credentials') record(request, steps.clientCredentialsIssued(client.id));
    // The kid and alg read back from the token actually issued.
    const { kid, alg } = decodeProtectedHeader(token.token);
    record(request, steps.accessTokenSigned(kid, alg, token.expiresIn, audience, token.scope));
    if (refreshTokenIssued) record(request, steps.refreshTokenIssued());
  });
  events.on('token.revoked', ({ request }) => record(request, steps.accessTokenRevoked()));
  events.on('grant.revoked', ({ request, grantId, cause }) => {
    if (cause === 'revocation') record(request, steps.grantRevokedByClient(grantId));
  });
  events.on('revocation.unmatched', ({ request }) => record(request, steps.nothingToRevoke()));
  events.on('token.introspected', ({ request, active, kind, scope }) =>
    record(request, steps.introspected(active, kind, scope)),
  );
}

export default fp(workshopTracing, { name: 'workshop-tracing', dependencies: ['config', 'events', 'workshop-trace'] });
