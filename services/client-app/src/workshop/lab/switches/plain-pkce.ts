// Lab switch "plain-pkce". RFC 9700 §2.1.1: S256 only; "plain" puts the verifier in the front channel.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { badPkce } from '../attacks.js';

export const meta: SwitchMeta = {
  id: 'plain-pkce',
  title: 'Use PKCE method "plain"',
  misbehaviour: 'code_challenge_method=plain: the challenge IS the verifier.',
  attack:
    'The verifier travels in the front channel (the address bar, history, logs): whoever sees the authorization request can redeem the code.',
  defence: 'The authorization server accepts S256 only (RFC 9700 §2.1.1).',
  expected: 'The authorization server redirects back with error=invalid_request.',
};

export function run(ctx: LabContext): Promise<void> {
  // 'VERIFIER': the challenge is the verifier itself.
  return badPkce(ctx, { code_challenge: 'VERIFIER', code_challenge_method: 'plain' }, 'code_challenge_method=plain');
}
