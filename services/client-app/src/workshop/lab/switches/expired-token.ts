// Lab switch "expired-token". RFC 9068 §4: the resource server checks exp (with a small clock tolerance).
import type { LabContext, SwitchMeta } from '../run-context.js';
import { shorten } from '../../inspector/present.js';

export const meta: SwitchMeta = {
  id: 'expired-token',
  title: 'Call the API with an expired token',
  misbehaviour: 'The client keeps using an access token after its exp.',
  attack: 'An old leaked token used long after the fact.',
  defence: 'Short-lived access tokens; the resource server checks exp (with a small clock tolerance).',
  expected: 'The resource server answers 401 invalid_token.',
};

/** Returns why it did not run when no token the lab holds expires within LAB_MAX_WAIT. */
export async function run(ctx: LabContext): Promise<string | void> {
  const tolerance = ctx.config.LAB_RS_CLOCK_TOLERANCE;
  const maxWait = ctx.config.LAB_MAX_WAIT;
  // Rejected once now > exp + tolerance at the RS (whole seconds): one more second to be safe.
  const usableAt = (exp: number) => (exp + tolerance + 1) * 1000;
  let candidate = ctx.deps.pool.earliest();
  if (!candidate || usableAt(candidate.exp) - Date.now() > maxWait * 1000) {
    await ctx.obtainTokens();
    candidate = ctx.deps.pool.earliest()!;
  }
  const wait = usableAt(candidate.exp) - Date.now();
  if (wait > maxWait * 1000) {
    const message =
      `The earliest-expiring token the lab holds (${shorten(candidate.token)}) expires at ${new Date(candidate.exp * 1000).toISOString()}; ` +
      `with the resource server's clock tolerance that is ${Math.ceil(wait / 1000)} s away, more than LAB_MAX_WAIT (${maxWait} s). ` +
      'The lab keeps its tokens: run this switch again later (or run the workshop with a short ACCESS_TOKEN_TTL).';
    ctx.recorder.record({ role: 'client', title: 'No expired token yet', detail: message, outcome: 'info' });
    return message;
  }
  if (wait > 0) {
    ctx.recorder.record({
      role: 'client',
      title: `Waiting ${Math.ceil(wait / 1000)} s for ${shorten(candidate.token)} to expire (exp + ${tolerance} s tolerance)`,
      outcome: 'info',
    });
    await ctx.sleep(wait);
  }
  const answer = await ctx.client.api(
    candidate.token,
    '/photos',
    `Using an access token that expired at ${new Date(candidate.exp * 1000).toISOString()}`,
  );
  ctx.expectError('GET /photos with an expired token', 'resource server', answer, 401, 'invalid_token');
}
