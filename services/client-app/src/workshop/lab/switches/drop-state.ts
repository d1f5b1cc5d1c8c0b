// Lab switch "drop-state". RFC 6749 §10.12, RFC 9700 §4.7.1: CSRF / code injection without state, stopped by PKCE.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { injection } from '../attacks.js';

export const meta: SwitchMeta = {
  id: 'drop-state',
  title: 'Drop state',
  misbehaviour: 'The client sends no state and accepts any callback.',
  attack:
    "CSRF / code injection: the attacker (bob) gets a code for HIS account and makes the victim's browser deliver it to the client, which would then show bob's photos as the victim's (and store the victim's uploads in bob's account).",
  defence:
    "PKCE: bob's code is bound to bob's challenge, and the client redeems it with the victim's verifier (RFC 9700 §4.7.1) — so even without state the injection fails.",
  expected: "bob's injected code is refused at the token endpoint with 400 invalid_grant.",
};

export function run(ctx: LabContext): Promise<void> {
  return injection(ctx, 'drop');
}
