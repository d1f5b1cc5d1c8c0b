// The lab's device (RFC 8628), for the device switches: the client app plays a device that has no browser, as
// the public client LAB_DEVICE_CLIENT_ID. It asks for a device code and a user code (§3.1, §3.2), polls the
// token endpoint with the device code (§3.4, answers §3.5), and has the lab browser play the person who opens
// the verification URI on another device (§3.3). Every request is recorded in the run's flow, as the client's
// ("the device's") steps, so the inspector draws the device flow like any other.
import { UpstreamUnavailableError, isNetworkError } from '../../oauth/errors.js';
import { LabBrowser, type DevicePage } from '../lab-agent.js';
import type { LabContext, LabUser } from './run-context.js';
import { errorOf, str, type ApiAnswer } from './rogue-client.js';

/** RFC 8628 §3.4: the grant type of the device access token request. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** §3.2: the interval a device must use when the response gives none. */
export const DEFAULT_INTERVAL = 5;
/** §3.5: slow_down adds 5 seconds to the interval, for this and every later request. */
export const SLOW_DOWN_STEP = 5;

export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | undefined;
  expiresIn: number;
  interval: number;
}

export interface PollAnswer extends ApiAnswer {
  accessToken?: string | undefined;
}

/** The device authorization endpoint (RFC 8628 §4 metadata), or a reason the switch cannot run. */
export function deviceEndpoint(ctx: LabContext): string | undefined {
  const endpoint = ctx.as.device_authorization_endpoint;
  return typeof endpoint === 'string' ? endpoint : undefined;
}

/** §3.1 device authorization request; the run stops unless the AS answers §3.2's 200 with both codes. */
export async function startDeviceFlow(ctx: LabContext, title: string): Promise<DeviceAuthorization> {
  const answer = await ctx.client.formPost(
    deviceEndpoint(ctx),
    title,
    'Device authorization response',
    { client_id: ctx.config.LAB_DEVICE_CLIENT_ID, scope: 'photos:read' },
    { publicClient: true },
  );
  const body = answer.body;
  const deviceCode = str(body?.device_code);
  const userCode = str(body?.user_code);
  const verificationUri = str(body?.verification_uri);
  ctx.require(
    'the authorization server issues a device code and a user code',
    'authorization server',
    answer.status === 200 && deviceCode !== undefined && userCode !== undefined && verificationUri !== undefined,
    errorOf(answer),
    '200 with device_code, user_code and verification_uri',
  );
  const interval = body?.interval;
  return {
    deviceCode: deviceCode!,
    userCode: userCode!,
    verificationUri: verificationUri!,
    verificationUriComplete: str(body?.verification_uri_complete),
    expiresIn: typeof body?.expires_in === 'number' ? body.expires_in : 0,
    interval: typeof interval === 'number' && Number.isInteger(interval) && interval > 0 ? interval : DEFAULT_INTERVAL,
  };
}

/** One §3.4 device access token request; the answer as observations take it, and the token if one came. */
export async function poll(ctx: LabContext, device: DeviceAuthorization, title: string): Promise<PollAnswer> {
  const answer = await ctx.client.formPost(
    ctx.as.token_endpoint,
    title,
    'Token response',
    { grant_type: DEVICE_CODE_GRANT, device_code: device.deviceCode, client_id: ctx.config.LAB_DEVICE_CLIENT_ID },
    { publicClient: true },
  );
  return { ...errorOf(answer), accessToken: answer.status === 200 ? str(answer.body?.access_token) : undefined };
}

/** `user` opens the verification page on their own browser (played by the lab) and approves, or only looks. */
export async function openVerificationPage(
  ctx: LabContext,
  user: LabUser,
  url: string,
  decision: 'approve' | 'look',
  note: string,
): Promise<DevicePage> {
  ctx.recorder.record({
    role: 'resource owner',
    to: 'authorization server',
    title: `${user.username}'s browser (played by the lab) opens the verification page: ${note}`,
    outcome: 'info',
  });
  const browser = new LabBrowser(user, ctx.redirectUri, (step) => ctx.recorder.record(step));
  let page: DevicePage;
  try {
    page = await browser.verifyDevice(url, decision);
  } catch (err) {
    if (isNetworkError(err)) throw new UpstreamUnavailableError('authorization server', err);
    throw err;
  }
  ctx.recorder.record({
    role: 'authorization server',
    to: 'resource owner',
    title: `${page.status} page: ${page.title}`,
    detail: page.warning ?? page.detail,
    outcome: page.status >= 400 ? 'rejected' : 'info',
  });
  return page;
}

/** The victim approves the device on her own browser, with the code it shows her (the well-behaved case). */
export function victimApproves(ctx: LabContext, device: DeviceAuthorization): Promise<DevicePage> {
  return openVerificationPage(
    ctx,
    ctx.victim,
    device.verificationUriComplete ?? device.verificationUri,
    'approve',
    'her own device',
  );
}
