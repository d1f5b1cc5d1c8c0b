// Lab switch "dpop-refresh-without-key". RFC 9449 §5: a public client's refresh token is bound to its DPoP key
// (a public client has no secret, so the key is the only thing that tells the thief from the client).
import type { LabContext, SwitchMeta } from '../run-context.js';
import { DEVICE_CODE_GRANT, deviceEndpoint, startDeviceFlow, victimApproves } from '../device.js';
import { labKey } from '../dpop.js';
import { errorOf, str, type HttpAnswer } from '../rogue-client.js';
import { shorten } from '../../inspector/present.js';

export const meta: SwitchMeta = {
  id: 'dpop-refresh-without-key',
  title: "Use a public client's stolen refresh token without its key",
  misbehaviour:
    'A public client (the device of the device grant) got a DPoP-bound refresh token; it is presented again without a proof, and with a proof of another key.',
  attack:
    'A public client has no secret: a refresh token stolen from it would otherwise give new access tokens for days, to anyone.',
  defence:
    "The authorization server binds a public client's refresh tokens to the DPoP key of the token request and checks the key on every refresh (RFC 9449 §5).",
  expected: 'Without a proof, and with another key: 400 (invalid_grant or invalid_dpop_proof).',
};

/** RFC 9449 §5 says the binding is checked, not which error code a missing proof gets: either is a refusal. */
const REFUSALS = ['invalid_grant', 'invalid_dpop_proof'];

export async function run(ctx: LabContext): Promise<string | void> {
  const unsupported = ctx.dpopUnsupported();
  if (unsupported) return unsupported;
  if (!deviceEndpoint(ctx))
    return 'The authorization server advertises no device_authorization_endpoint (RFC 8628 §4): no public client to play.';
  const device = await startDeviceFlow(ctx, 'Device authorization request (RFC 8628 §3.1)');
  await victimApproves(ctx, device);
  const key = await labKey();
  const client_id = ctx.config.LAB_DEVICE_CLIENT_ID;
  const issued = await ctx.tokenWithProof(
    key,
    'The device polls once, with a DPoP proof of its key',
    { grant_type: DEVICE_CODE_GRANT, device_code: device.deviceCode, client_id },
    { publicClient: true },
  );
  const refreshToken = str(issued.body?.refresh_token);
  ctx.require(
    'the device gets a DPoP-bound token and a refresh token',
    'authorization server',
    issued.status === 200 && refreshToken !== undefined && str(issued.body?.token_type)?.toLowerCase() === 'dpop',
    errorOf(issued),
    '200, token_type DPoP, with a refresh token',
  );
  const params = { grant_type: 'refresh_token', refresh_token: refreshToken!, client_id };
  const refused = (label: string, answer: HttpAnswer, errors: string[]) => {
    const { status, error, description } = errorOf(answer);
    ctx.observe(
      {
        label,
        by: 'authorization server',
        status,
        ...(error ? { error } : {}),
        ...(description ? { errorDescription: description } : {}),
        expected: `400 ${errors.join(' or ')}`,
      },
      status === 400 && error !== undefined && errors.includes(error),
    );
  };
  const noProof = await ctx.tokenWithProof(
    null,
    `The thief: refresh with the stolen ${shorten(refreshToken!)}, no DPoP proof`,
    params,
    { publicClient: true },
  );
  refused('the stolen refresh token without a proof', noProof, REFUSALS);
  const otherKey = await ctx.tokenWithProof(
    await labKey(),
    `The thief: refresh with the stolen ${shorten(refreshToken!)} and a proof of ITS OWN key`,
    params,
    { publicClient: true },
  );
  refused('the stolen refresh token with another key', otherKey, REFUSALS);
}
