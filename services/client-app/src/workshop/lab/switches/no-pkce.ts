// Lab switch "no-pkce". RFC 7636 §4.3, RFC 9700 §2.1.1: PKCE is required from every client.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { badPkce } from '../attacks.js';

export const meta: SwitchMeta = {
  id: 'no-pkce',
  title: 'Send no PKCE challenge',
  misbehaviour: 'The authorization request carries no code_challenge.',
  attack:
    'Authorization code interception: whoever steals the code from the redirect (a malicious app on the same device, a leaked log or Referer) can redeem it.',
  defence: 'The authorization server requires PKCE from every client (RFC 9700 §2.1.1, OAuth 2.1).',
  expected: 'The authorization server redirects back with error=invalid_request; no code is issued.',
};

export function run(ctx: LabContext): Promise<void> {
  return badPkce(ctx, { code_challenge: null, code_challenge_method: null }, 'no code_challenge');
}
