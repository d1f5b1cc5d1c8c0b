// Lab switch "dpop-replayed-proof". RFC 9449 §11.1: a proof is single use (its jti), within a short window.
import type { LabContext, SwitchMeta } from '../run-context.js';

export const meta: SwitchMeta = {
  id: 'dpop-replayed-proof',
  title: 'Replay a captured DPoP proof',
  misbehaviour: 'The same request — token and DPoP proof, byte for byte — is sent a second time.',
  attack:
    'Someone who captured a whole request (token and proof) replays it: the proof is signed, so it cannot be changed, but it can be sent again.',
  defence:
    "The resource server remembers each proof's jti while the proof is fresh and refuses it the second time (RFC 9449 §4.3 step 12, §11.1).",
  expected: 'The first request: 200; the same proof again: 401 invalid_dpop_proof.',
};

export async function run(ctx: LabContext): Promise<string | void> {
  const unsupported = ctx.dpopUnsupported();
  if (unsupported) return unsupported;
  const { accessToken, key } = await ctx.obtainDpopTokens();
  const { answer, proof } = await ctx.dpopCall(accessToken, key, '/photos', 'The genuine request with a fresh proof');
  ctx.require('the genuine request', 'resource server', answer.status === 200, answer, '200');
  const replayed = await ctx.client.api(accessToken, '/photos', 'The same proof (same jti) sent again', {
    scheme: 'DPoP',
    proof,
  });
  ctx.expectError('the replayed proof', 'resource server', replayed, 401, 'invalid_dpop_proof');
}
