// Lab switch "redirect-uri-off-by-one". RFC 6749 §3.1.2, §4.1.2.1, RFC 9700 §2.1: exact redirect URI matching.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { newVerifier, s256 } from '../forge.js';

export const meta: SwitchMeta = {
  id: 'redirect-uri-off-by-one',
  title: 'Use a redirect URI that differs by one character',
  misbehaviour: 'The redirect_uri differs from the registered one by its last character.',
  attack: 'Loose matching (prefixes, wildcards) lets an attacker receive codes at a URI they control (RFC 9700 §4.1).',
  defence:
    'Exact string matching of redirect URIs; the AS never redirects to an unverified URI (RFC 6749 §4.1.2.1, RFC 9700 §2.1).',
  expected: 'The authorization server shows an error page (400) and never redirects.',
};

export async function run(ctx: LabContext): Promise<void> {
  const verifier = newVerifier();
  const uri = ctx.redirectUri;
  const last = uri.at(-1)!;
  const offByOne = `${uri.slice(0, -1)}${last === 'k' ? 'c' : 'k'}`;
  const outcome = await ctx.authorizeAs(
    ctx.victim,
    ctx.client.authorizationUrl({
      code_challenge: s256(verifier),
      code_challenge_method: 'S256',
      redirect_uri: offByOne,
    }),
    verifier,
    `redirect_uri ${offByOne}`,
  );
  ctx.expectErrorPage('authorization request', outcome);
}
