// Lab switch "refresh-reuse". RFC 9700 §4.14.2: refresh token reuse revokes the family.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { shorten } from '../../inspector/present.js';
import { errorOf, str } from '../rogue-client.js';

export const meta: SwitchMeta = {
  id: 'refresh-reuse',
  title: 'Reuse an old refresh token',
  misbehaviour: 'After a refresh, the client presents the previous (rotated) refresh token again.',
  attack: 'A stolen refresh token used by the thief and by the legitimate client: one of them is replaying.',
  defence: 'Refresh token rotation with reuse detection: the reuse revokes the whole family (RFC 9700 §4.14.2).',
  expected: 'The old refresh token: 400 invalid_grant; the new one is dead too: 400 invalid_grant.',
};

export async function run(ctx: LabContext): Promise<void> {
  const { refreshToken } = await ctx.obtainTokens();
  ctx.require('a refresh token was issued', 'authorization server', refreshToken !== undefined, {}, 'a refresh token');
  const rotated = await ctx.client.refresh(refreshToken!, 'Refresh (rotates the refresh token)');
  const newRefreshToken = str(rotated.body?.refresh_token);
  ctx.require(
    'the first refresh',
    'authorization server',
    rotated.status === 200 && newRefreshToken !== undefined,
    { status: rotated.status, error: str(rotated.body?.error) },
    '200 with a new refresh token',
  );
  const reused = await ctx.client.refresh(
    refreshToken!,
    `Refresh with the OLD refresh token ${shorten(refreshToken!)} again`,
  );
  ctx.expectError('the old refresh token, reused', 'authorization server', errorOf(reused), 400, 'invalid_grant');
  const family = await ctx.client.refresh(
    newRefreshToken!,
    `Refresh with the NEW refresh token ${shorten(newRefreshToken!)}`,
  );
  ctx.expectError('the new refresh token (same family)', 'authorization server', errorOf(family), 400, 'invalid_grant');
}
