// Attacks shared by two switches each: a bad PKCE authorization request (no challenge, or method "plain"),
// the CSRF / code injection with state dropped or reused, and a forged access token (alg "none", or an
// edited payload). Each switch file says which variant it runs.
import { callbackSections, authorizationRequestSections, decodeJwt } from '../inspector/present.js';
import { algNone, editedPayload, newVerifier, s256 } from './forge.js';
import { errorOf } from './rogue-client.js';
import type { LabContext } from './run-context.js';

/** RFC 7636 §4.3, RFC 9700 §2.1.1: the AS must answer invalid_request (by redirect) to a bad PKCE request. */
export async function badPkce(ctx: LabContext, overrides: Record<string, string | null>, note: string): Promise<void> {
  const verifier = newVerifier();
  const url = ctx.client.authorizationUrl(
    Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, v === 'VERIFIER' ? verifier : v])),
  );
  const outcome = await ctx.authorizeAs(
    ctx.victim,
    url,
    overrides.code_challenge === null ? undefined : verifier,
    note,
  );
  ctx.expectError(
    'authorization response',
    'authorization server',
    outcome.kind === 'redirect'
      ? {
          status: outcome.status,
          error: outcome.params.get('error') ?? '(a code was issued)',
          description: outcome.params.get('error_description') ?? undefined,
        }
      : { status: outcome.status, error: outcome.title, description: outcome.detail },
    303,
    'invalid_request',
  );
}

/**
 * RFC 6749 §10.12, RFC 9700 §4.7.1: the attacker's code injected into the victim's callback, with the state
 * dropped or a state known to everyone; PKCE refuses it anyway, since the victim's verifier does not match.
 */
export async function injection(ctx: LabContext, stateMode: 'drop' | 'reuse'): Promise<void> {
  const { victim, attacker } = ctx;
  // The victim's side: the client starts a flow for alice and keeps her verifier.
  const victimVerifier = newVerifier();
  const fixedState = 'same-state-for-every-flow';
  const victimUrl = ctx.client.authorizationUrl({
    code_challenge: s256(victimVerifier),
    code_challenge_method: 'S256',
    state: stateMode === 'drop' ? null : fixedState,
  });
  ctx.recorder.record({
    role: 'client',
    title: `Flow started for ${victim.username}: ${stateMode === 'drop' ? 'no state' : `state="${fixedState}", as in every flow`}`,
    outcome: 'info',
    sections: authorizationRequestSections(victimUrl, victimVerifier),
  });
  // The attacker's side: bob runs the flow in his own browser and keeps the code instead of delivering it.
  const attackerVerifier = newVerifier();
  const attackerUrl = ctx.client.authorizationUrl({
    code_challenge: s256(attackerVerifier),
    code_challenge_method: 'S256',
    state: stateMode === 'drop' ? null : fixedState,
  });
  const attackerParams = await ctx.codeFor(
    attacker,
    attackerUrl,
    attackerVerifier,
    'the attacker stops before the callback and keeps his code',
  );
  // The forged callback, delivered through the victim's browser (a link or an auto-submitting page).
  const forged = new URLSearchParams({ code: attackerParams.get('code')!, iss: attackerParams.get('iss') ?? '' });
  if (stateMode === 'reuse') forged.set('state', fixedState);
  ctx.recorder.record({
    role: 'resource owner',
    to: 'client',
    title: `GET /callback with ${attacker.username}'s code (injected into ${victim.username}'s browser)`,
    outcome: 'info',
    sections: callbackSections(forged, [
      stateMode === 'drop'
        ? { name: 'state', ok: false, detail: 'not checked: the misbehaving client sent none and accepts any callback' }
        : {
            name: 'state',
            ok: true,
            detail: `"${fixedState}" matches — but it is the same in every flow, so the attacker knew it`,
          },
      { name: 'iss', ok: true, detail: "our authorization server (the code is genuine, just not the victim's)" },
    ]),
  });
  const answer = await ctx.client.redeem(
    forged,
    victimVerifier,
    `Token request: ${attacker.username}'s code with ${victim.username}'s verifier`,
  );
  ctx.expectError('redemption of the injected code', 'authorization server', errorOf(answer), 400, 'invalid_grant');
}

/** RFC 8725 §3.1, RFC 9068 §4: a tampered token must fail signature verification at the resource server. */
export async function forgedToken(ctx: LabContext, kind: 'alg-none' | 'edited-payload'): Promise<void> {
  const { accessToken } = await ctx.obtainTokens();
  await ctx.controlCall(accessToken);
  const forged = kind === 'alg-none' ? algNone(accessToken) : editedPayload(accessToken);
  const decoded = decodeJwt(forged);
  ctx.recorder.record({
    role: 'client',
    title:
      kind === 'alg-none'
        ? 'Header rewritten to alg "none", signature removed'
        : 'Payload edited: scope widened to every scope, signature kept',
    detail:
      kind === 'alg-none' ? `header ${JSON.stringify(decoded?.header)}` : `scope "${String(decoded?.claims.scope)}"`,
    outcome: 'info',
  });
  const answer = await ctx.client.api(
    forged,
    '/photos',
    kind === 'alg-none' ? 'Sending the alg:none token' : 'Sending the edited token',
  );
  ctx.expectError(
    `GET /photos with ${kind === 'alg-none' ? 'an alg: none token' : 'an edited token'}`,
    'resource server',
    answer,
    401,
    'invalid_token',
  );
}
