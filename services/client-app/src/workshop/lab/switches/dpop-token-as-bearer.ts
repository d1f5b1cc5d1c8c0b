// Lab switch "dpop-token-as-bearer". RFC 9449 §7.1: a DPoP-bound access token is refused without a proof of its key.
import type { LabContext, SwitchMeta } from '../run-context.js';

export const meta: SwitchMeta = {
  id: 'dpop-token-as-bearer',
  title: 'Replay a stolen DPoP-bound token as a Bearer token',
  misbehaviour: 'A DPoP-bound access token (cnf.jkt) is sent as "Authorization: Bearer", with no proof.',
  attack:
    'A token that leaked from a log or a proxy, used by whoever found it: a bearer token works from anywhere until it expires.',
  defence:
    "The token is bound to the client's key (cnf.jkt, RFC 9449 §6.1): the resource server refuses it without a proof of that key (§7.1).",
  expected: 'The genuine token with its proof: 200; the same token as Bearer: 401 invalid_token.',
};

export async function run(ctx: LabContext): Promise<string | void> {
  const unsupported = ctx.dpopUnsupported();
  if (unsupported) return unsupported;
  const { accessToken, key } = await ctx.obtainDpopTokens();
  await ctx.dpopControlCall(accessToken, key);
  const stolen = await ctx.client.api(accessToken, '/photos', 'The thief: the same token as a Bearer token, no proof');
  ctx.expectError('the DPoP-bound token as Bearer', 'resource server', stolen, 401, 'invalid_token');
}
