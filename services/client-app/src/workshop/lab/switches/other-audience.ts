// Lab switch "other-audience". RFC 8707, RFC 9068 §4: the resource server checks the audience.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { decodeJwt } from '../../inspector/present.js';

export const meta: SwitchMeta = {
  id: 'other-audience',
  title: 'Call the API with a token for another audience',
  misbehaviour: 'The client obtains a token for another resource server (RFC 8707 resource) and sends it to ours.',
  attack: 'A token leaked by (or stolen from) one API is replayed at another.',
  defence: 'The resource server checks aud contains its own identifier (RFC 9068 §4, RFC 8707).',
  expected: 'The resource server answers 401 invalid_token.',
};

export async function run(ctx: LabContext): Promise<void> {
  const resource = ctx.config.LAB_OTHER_RESOURCE;
  const { accessToken } = await ctx.obtainTokens({ resource });
  const aud = decodeJwt(accessToken)?.claims.aud;
  ctx.recorder.record({
    role: 'client',
    title: `The token's aud is ${JSON.stringify(aud)}, not our resource server`,
    outcome: 'info',
  });
  const answer = await ctx.client.api(
    accessToken,
    '/photos',
    `Sending the token for ${resource} to ${ctx.config.RESOURCE_SERVER}`,
  );
  ctx.expectError('GET /photos with a token for another audience', 'resource server', answer, 401, 'invalid_token');
}
