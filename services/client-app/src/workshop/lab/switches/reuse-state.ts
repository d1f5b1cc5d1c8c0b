// Lab switch "reuse-state". RFC 6749 §10.12, RFC 9700 §4.7.1: CSRF / code injection with a known state, stopped by PKCE.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { injection } from '../attacks.js';

export const meta: SwitchMeta = {
  id: 'reuse-state',
  title: 'Reuse state',
  misbehaviour: 'The client uses the same state for every flow, so an attacker knows it.',
  attack:
    'Same CSRF / code injection as above: the forged callback carries the known state and passes the state check.',
  defence: "PKCE again: the victim's verifier does not match bob's challenge.",
  expected: "bob's injected code is refused at the token endpoint with 400 invalid_grant.",
};

export function run(ctx: LabContext): Promise<void> {
  return injection(ctx, 'reuse');
}
