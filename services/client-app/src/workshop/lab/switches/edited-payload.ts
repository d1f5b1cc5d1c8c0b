// Lab switch "edited-payload". RFC 9068 §4: the signature covers header and payload.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { forgedToken } from '../attacks.js';

export const meta: SwitchMeta = {
  id: 'edited-payload',
  title: 'Call the API with a token whose payload was edited',
  misbehaviour: "The client widens the scope in the token's payload and keeps the original signature.",
  attack: 'Privilege escalation by editing the (readable, base64url) claims.',
  defence:
    "The signature covers header and payload; the resource server verifies it with the AS's published key — without calling the AS.",
  expected: 'The resource server answers 401 invalid_token.',
};

export function run(ctx: LabContext): Promise<void> {
  return forgedToken(ctx, 'edited-payload');
}
