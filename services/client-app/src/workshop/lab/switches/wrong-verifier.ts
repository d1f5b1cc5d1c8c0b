// Lab switch "wrong-verifier". RFC 7636 §4.6: the verifier is checked at the token endpoint.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { newVerifier } from '../forge.js';
import { errorOf } from '../rogue-client.js';

export const meta: SwitchMeta = {
  id: 'wrong-verifier',
  title: 'Redeem the code with a wrong verifier',
  misbehaviour: 'The token request sends a code_verifier that does not match the challenge.',
  attack: 'This is what an attacker who intercepted the code looks like: they have the code, but not the verifier.',
  defence: 'The authorization server hashes the verifier and compares it with the stored challenge (RFC 7636 §4.6).',
  expected: 'The token endpoint answers 400 invalid_grant.',
};

export async function run(ctx: LabContext): Promise<void> {
  const params = await ctx.victimCode(newVerifier());
  const answer = await ctx.client.redeem(params, newVerifier(), 'Token request with a wrong code_verifier');
  ctx.expectError('redemption with a wrong verifier', 'authorization server', errorOf(answer), 400, 'invalid_grant');
}
