// Lab switch "phished-user-code". RFC 8628 §5.4 (remote phishing): the attacker starts a device flow and sends
// the victim the verification_uri_complete; the consent page's warning is the defence, and nothing is granted
// until the person approves. The lab plays alice reading the page; it never approves the attacker's device.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { deviceEndpoint, openVerificationPage, poll, startDeviceFlow } from '../device.js';

export const meta: SwitchMeta = {
  id: 'phished-user-code',
  title: 'Send someone else a device code to approve',
  misbehaviour:
    'An attacker starts a device flow on their own device and sends the victim its verification_uri_complete ("confirm your account here").',
  attack:
    "Remote phishing of the device grant: if the victim approves, the attacker's device gets a token for the victim's photos (RFC 8628 §5.4).",
  defence:
    'The consent page names the client and warns to approve only a code shown on a device in front of you; the device gets nothing until the person approves.',
  expected:
    "Alice's browser shows the consent page (200) with the warning; the attacker's device polling meanwhile gets 400 authorization_pending, no token.",
};

export async function run(ctx: LabContext): Promise<string | void> {
  if (!deviceEndpoint(ctx))
    return 'The authorization server advertises no device_authorization_endpoint (RFC 8628 §4): no device grant to try.';
  const device = await startDeviceFlow(ctx, "The attacker's device: device authorization request (RFC 8628 §3.1)");
  const link = device.verificationUriComplete ?? `${device.verificationUri}`;
  ctx.recorder.record({
    role: 'client',
    title: `The attacker sends ${ctx.victim.username} the link: "Confirm your account: ${link}"`,
    outcome: 'info',
  });
  const page = await openVerificationPage(ctx, ctx.victim, link, 'look', 'a link someone sent her');
  ctx.observe(
    {
      label: `the page ${ctx.victim.username} sees after signing in`,
      by: 'authorization server',
      status: page.status,
      title: page.title,
      errorDescription: page.warning ?? `no warning found (${page.detail.slice(0, 200)})`,
      expected: '200 consent page warning to approve only a code from a device in front of you',
    },
    page.status === 200 && page.consent && page.warning !== undefined,
  );
  ctx.recorder.record({
    role: 'resource owner',
    title: `${ctx.victim.username} reads the warning and does not approve (the lab never approves this device)`,
    outcome: 'ok',
  });
  const answer = await poll(ctx, device, "The attacker's device polls for a token");
  ctx.expectError("the attacker's device polls", 'authorization server', answer, 400, 'authorization_pending');
}
