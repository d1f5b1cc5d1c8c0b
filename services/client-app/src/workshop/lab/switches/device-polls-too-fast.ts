// Lab switch "device-polls-too-fast". RFC 8628 §3.5: polling faster than the interval is answered slow_down, and
// the interval grows by 5 s for every later request; a device that then waits as told gets its token.
import type { LabContext, SwitchMeta } from '../run-context.js';
import { SLOW_DOWN_STEP, deviceEndpoint, victimApproves, poll, startDeviceFlow, type PollAnswer } from '../device.js';

export const meta: SwitchMeta = {
  id: 'device-polls-too-fast',
  title: 'Poll for the device token without waiting the interval',
  misbehaviour:
    'A device (the device grant, RFC 8628) asks the token endpoint for its token again and again, without waiting the interval it was given.',
  attack:
    'Devices hammering the token endpoint: load on the authorization server, and more tries at a device code than the interval allows.',
  defence:
    'The authorization server answers slow_down, and the device must add 5 seconds to its interval for this and every later poll (RFC 8628 §3.5).',
  expected:
    'Polling again at once: 400 slow_down, the interval growing by 5 s each time; after alice approves, the device that waits the grown interval gets its token.',
};

/** Back-to-back polls: enough for the interval to grow twice. */
const FAST_POLLS = 3;

export async function run(ctx: LabContext): Promise<string | void> {
  if (!deviceEndpoint(ctx))
    return 'The authorization server advertises no device_authorization_endpoint (RFC 8628 §4): no device grant to try.';
  const device = await startDeviceFlow(ctx, 'Device authorization request (RFC 8628 §3.1)');
  ctx.recorder.record({
    role: 'client',
    title: `The device shows the user code ${device.userCode}; it must poll at most every ${device.interval} s`,
    outcome: 'info',
  });
  let interval = device.interval;
  const answers = [];
  for (let n = 1; n <= FAST_POLLS; n++) {
    const answer = await poll(ctx, device, `Poll ${n}, at once (the interval is ${interval} s)`);
    answers.push(answer);
    if (answer.error !== 'slow_down') continue;
    interval += SLOW_DOWN_STEP;
    ctx.recorder.record({
      role: 'client',
      title: `slow_down: the interval is now ${interval} s (+${SLOW_DOWN_STEP} s, RFC 8628 §3.5)`,
      outcome: 'info',
    });
  }
  const slowDowns = answers.filter((a) => a.error === 'slow_down').length;

  // The well-behaved end of the same flow: alice approves on her browser, the device waits as told.
  let final: PollAnswer | undefined;
  if (interval > ctx.config.LAB_MAX_WAIT) {
    ctx.recorder.record({
      role: 'client',
      title: `Not waiting ${interval} s for the token: more than LAB_MAX_WAIT (${ctx.config.LAB_MAX_WAIT} s)`,
      outcome: 'info',
    });
  } else {
    await victimApproves(ctx, device);
    ctx.recorder.record({ role: 'client', title: `The device waits ${interval} s, as told`, outcome: 'info' });
    await ctx.sleep(interval * 1000);
    final = await poll(ctx, device, `Poll ${FAST_POLLS + 1}, after ${interval} s`);
    if (final.accessToken)
      await ctx.client.api(final.accessToken, '/photos', "The device calls the API with alice's token");
  }

  if (final)
    ctx.observe(
      {
        label: 'the device that waited the grown interval, after alice approved',
        by: 'authorization server',
        status: final.status,
        ...(final.error ? { error: final.error } : {}),
        ...(final.description ? { errorDescription: final.description } : {}),
        expected: '200 with an access token',
      },
      final.status === 200 && final.accessToken !== undefined,
    );
  const last = answers.at(-1)!;
  ctx.observe(
    {
      label: `${FAST_POLLS} polls at once: slow_down ${slowDowns} times, the interval ${device.interval} s → ${interval} s`,
      by: 'authorization server',
      status: last.status,
      ...(last.error ? { error: last.error } : {}),
      ...(last.description ? { errorDescription: last.description } : {}),
      expected: '400 slow_down, the interval growing by 5 s each time',
    },
    last.status === 400 && last.error === 'slow_down' && slowDowns >= FAST_POLLS - 1,
  );
}
