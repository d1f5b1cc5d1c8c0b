// Lab switch "skip-par". RFC 9126 §5, §6: an authorization server (or a client's registration) can require
// pushed authorization requests; a request sent through the browser is then refused.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { newVerifier, s256 } from '../forge.js';

export const meta: SwitchMeta = {
  id: 'skip-par',
  title: 'Skip the pushed authorization request where it is required',
  misbehaviour:
    "The client puts the whole authorization request in the browser's URL although the authorization server requires it to be pushed (RFC 9126).",
  attack:
    'Parameters in the front channel can be read and altered on the way (browser extensions, logs, a tampered link): the request the user approves may not be the one the client made.',
  defence:
    'With require_pushed_authorization_requests (server setting REQUIRE_PUSHED_AUTHORIZATION_REQUESTS, or per client, RFC 9126 §5-§6) the authorization endpoint accepts only a request_uri from the PAR endpoint.',
  expected:
    'The authorization server refuses the request: no code is issued (an error page, or error=invalid_request).',
};

export async function run(ctx: LabContext): Promise<string | void> {
  if (!ctx.parRequired())
    return 'The authorization server does not require pushed authorization requests (require_pushed_authorization_requests is not true in its metadata; set REQUIRE_PUSHED_AUTHORIZATION_REQUESTS=true): skipping PAR is allowed there.';
  const verifier = newVerifier();
  const url = ctx.client.authorizationUrl({ code_challenge: s256(verifier), code_challenge_method: 'S256' });
  const outcome = await ctx.authorizeAs(ctx.victim, url, verifier, 'in the URL, not pushed', { push: false });
  const error = outcome.kind === 'redirect' ? outcome.params.get('error') : null;
  ctx.observe(
    {
      label: 'an authorization request that was not pushed',
      by: 'authorization server',
      status: outcome.status,
      ...(outcome.kind === 'redirect'
        ? { error: error ?? 'redirected with a code' }
        : { title: outcome.title, errorDescription: outcome.detail }),
      expected: 'refused: a 400 error page or error=invalid_request, no code',
    },
    outcome.kind === 'page' ? outcome.status === 400 : error === 'invalid_request',
  );
}
