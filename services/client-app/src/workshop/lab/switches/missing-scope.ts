// Lab switch "missing-scope". RFC 6750 §3.1: insufficient_scope.
import type { LabContext, SwitchMeta } from '../run-context.js';

export const meta: SwitchMeta = {
  id: 'missing-scope',
  title: 'Call the API with a token lacking the scope',
  misbehaviour: 'The client asks only for documents:read, then calls GET /photos.',
  attack: 'A client (or a stolen token) reaching data the user never approved.',
  defence: 'The resource server checks the scope per route (RFC 6750 §3.1).',
  expected: 'The resource server answers 403 insufficient_scope.',
};

export async function run(ctx: LabContext): Promise<void> {
  const { accessToken } = await ctx.obtainTokens({ scope: 'documents:read' });
  await ctx.controlCall(accessToken, '/documents');
  const answer = await ctx.client.api(accessToken, '/photos', 'Calling GET /photos with a documents:read token');
  ctx.expectError('GET /photos without photos:read', 'resource server', answer, 403, 'insufficient_scope');
}
