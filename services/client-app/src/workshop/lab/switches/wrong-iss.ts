// Lab switch "wrong-iss". RFC 9207 §2.4: the client's iss check against mix-up, before any token request.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { CallbackError } from '../../../oauth/errors.js';
import { callbackSections } from '../../inspector/present.js';
import { newState, newVerifier, s256 } from '../forge.js';

export const meta: SwitchMeta = {
  id: 'wrong-iss',
  title: 'Accept a response with a wrong iss',
  misbehaviour:
    "The lab rewrites the authorization response's iss, as a mix-up attacker would; a client that skips the check would go on.",
  attack:
    'Mix-up: a client talking to several authorization servers sends the code (and its credentials) to the wrong one, controlled by the attacker.',
  defence: 'The client checks iss against the issuer it sent the user to (RFC 9207 §2.4) before any token request.',
  expected: "The client's own RFC 9207 check rejects the response; no token request is made.",
};

export async function run(ctx: LabContext): Promise<void> {
  const verifier = newVerifier();
  const state = newState();
  const url = ctx.client.authorizationUrl({ code_challenge: s256(verifier), code_challenge_method: 'S256', state });
  const params = await ctx.codeFor(ctx.victim, url, verifier);
  const tampered = new URLSearchParams(params);
  tampered.set('iss', 'https://attacker.example');
  let rejected: string | undefined;
  try {
    // The client app's real check (oauth4webapi validateAuthResponse with iss required).
    await ctx.deps.oauthClient.validateCallback(tampered, state);
  } catch (err) {
    if (!(err instanceof CallbackError)) throw err;
    rejected = err.detail ?? err.message;
  }
  ctx.recorder.record({
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
        detail: `expected ${ctx.deps.oauthClient.issuerIdentifier}, got https://attacker.example`,
      },
    ]),
  });
  ctx.observe(
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
