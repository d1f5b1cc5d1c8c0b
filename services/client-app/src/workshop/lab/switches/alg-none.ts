// Lab switch "alg-none". RFC 8725 §3.1: an algorithm allow-list, never the token's own alg header.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { forgedToken } from '../attacks.js';

export const meta: SwitchMeta = {
  id: 'alg-none',
  title: 'Call the API with a token with alg: none',
  misbehaviour: 'The client sends a token whose header says alg "none" and whose signature is empty.',
  attack: "Forging tokens against libraries that trust the token's own alg header.",
  defence:
    "The resource server verifies with an algorithm allow-list (ES256 only), never the token's say-so (RFC 8725 §3.1).",
  expected: 'The resource server answers 401 invalid_token.',
};

export function run(ctx: LabContext): Promise<void> {
  return forgedToken(ctx, 'alg-none');
}
