// Lab switch "dpop-other-key". RFC 9449 §7.1: the proof's key must be the one the token is bound to (cnf.jkt).
import type { LabContext, SwitchMeta } from '../run-context.js';
import { labKey } from '../dpop.js';

export const meta: SwitchMeta = {
  id: 'dpop-other-key',
  title: "Replay a stolen DPoP-bound token with the thief's own key",
  misbehaviour:
    'A stolen DPoP-bound access token is sent with a perfectly valid proof — signed with another key than the one it is bound to.',
  attack: "The thief has the token but not the victim's private key, so it proves a key of its own.",
  defence:
    "The resource server compares the proof key's thumbprint with the token's cnf.jkt (RFC 9449 §6.1, §7.1); the private key never left the client.",
  expected: "The genuine token with its proof: 200; with the thief's key: 401 invalid_dpop_proof.",
};

export async function run(ctx: LabContext): Promise<string | void> {
  const unsupported = ctx.dpopUnsupported();
  if (unsupported) return unsupported;
  const { accessToken, key } = await ctx.obtainDpopTokens();
  await ctx.dpopControlCall(accessToken, key);
  const thief = await labKey();
  const { answer } = await ctx.dpopCall(
    accessToken,
    thief,
    '/photos',
    'The thief: the token with a proof of ITS OWN key',
  );
  ctx.expectError('the token with another key', 'resource server', answer, 401, 'invalid_dpop_proof');
}
