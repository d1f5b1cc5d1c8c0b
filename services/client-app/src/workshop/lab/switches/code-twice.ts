// Lab switch "code-twice". RFC 6749 §4.1.2: code replay revokes the tokens of the first redemption (checked with RFC 7662).
import type { LabContext, SwitchMeta } from '../run-context.js';
import { newVerifier } from '../forge.js';
import { errorOf, str } from '../rogue-client.js';

export const meta: SwitchMeta = {
  id: 'code-twice',
  title: 'Redeem the same code twice',
  misbehaviour: 'The client sends the same authorization code to the token endpoint twice.',
  attack: 'Code replay: a stolen, already used code must not give a second set of tokens.',
  defence: 'Codes are single-use; a second redemption also revokes the tokens issued for the first (RFC 6749 §4.1.2).',
  expected:
    'Second redemption: 400 invalid_grant; introspection of the first access token: active false; its refresh token: 400 invalid_grant.',
};

export async function run(ctx: LabContext): Promise<void> {
  const verifier = newVerifier();
  const params = await ctx.victimCode(verifier);
  const first = await ctx.client.redeem(params, verifier, 'Token request: first redemption');
  const accessToken = str(first.body?.access_token);
  const refreshToken = str(first.body?.refresh_token);
  ctx.require(
    'first redemption',
    'authorization server',
    first.status === 200 && accessToken !== undefined && refreshToken !== undefined,
    { status: first.status, error: str(first.body?.error) },
    '200 with an access and a refresh token',
  );
  const second = await ctx.client.redeem(params, verifier, 'Token request: the same code again');
  ctx.expectError('second redemption of the same code', 'authorization server', errorOf(second), 400, 'invalid_grant');
  const introspection = await ctx.client.formPost(
    ctx.as.introspection_endpoint,
    'Introspection of the first access token (RFC 7662)',
    'Introspection response',
    { token: accessToken!, token_type_hint: 'access_token' },
  );
  const active = introspection.body?.active;
  ctx.observe(
    {
      label: 'introspection of the first access token',
      by: 'authorization server',
      status: introspection.status,
      ...(typeof active === 'boolean' ? { active } : {}),
      expected: 'active: false',
    },
    introspection.status === 200 && active === false,
  );
  const refreshed = await ctx.client.refresh(refreshToken!, 'Refresh with the first refresh token');
  ctx.expectError('the first refresh token', 'authorization server', errorOf(refreshed), 400, 'invalid_grant');
}
