// Checks of the device authorization grant (RFC 8628), each throwing one specific error: the device
// authorization request (§3.1), and the device access token request with its polling answers (§3.4-§3.5).
// User codes and how typed ones are normalised: lib/device-grant.ts.
import { OAuthError } from '@quartet/common';
import type { ClientRecord, DeviceAuthorization, DeviceDecision, DevicePoll } from '../domain/records.js';
import { single, type RawParams } from '../lib/params.js';
import { DEVICE_CODE_GRANT } from '../lib/device-grant.js';

export { DEVICE_CODE_GRANT };

/** RFC 8628 §3.5: "the interval MUST be increased by 5 seconds for this and all subsequent requests". */
export const SLOW_DOWN_STEP_SECONDS = 5;
/**
 * A poll this much early still counts as on time: the device measures its wait from the previous answer,
 * the server from the previous request's arrival at whichever replica took it, and replicas' clocks differ.
 */
export const POLL_TOLERANCE_MS = 500;

/** RFC 8628 §3.1 and RFC 6749 §5.2 unauthorized_client: the client must be registered for the grant. */
export function requireDeviceGrantAllowed(client: ClientRecord): void {
  if (!client.grantTypes.includes(DEVICE_CODE_GRANT)) {
    throw new OAuthError('unauthorized_client', 'This client may not use the device authorization grant.', {
      reason: 'device-grant-not-allowed',
    });
  }
}

/** RFC 8628 §3.4: device_code is required. */
export function requireDeviceCodeParameter(params: RawParams): string {
  const deviceCode = single(params, 'device_code');
  if (!deviceCode)
    throw new OAuthError('invalid_request', 'device_code is required.', { reason: 'device-code-missing' });
  return deviceCode;
}

/** RFC 8628 §3.5 (RFC 6749 §5.2 invalid_grant): the device code must be one this server issued. */
export function requireKnownDeviceCode(authorization: DeviceAuthorization | null): DeviceAuthorization {
  if (!authorization)
    throw new OAuthError('invalid_grant', 'The device code is invalid.', { reason: 'device-code-invalid' });
  return authorization;
}

/** RFC 8628 §3.4 / RFC 6749 §5.2 invalid_grant: the device code was issued to the authenticated client. */
export function requireSameDeviceClient(authorization: DeviceAuthorization, client: ClientRecord): void {
  if (authorization.clientId !== client.id)
    throw new OAuthError('invalid_grant', 'The device code was issued to another client.', {
      reason: 'device-code-other-client',
    });
}

/** RFC 8628 §3.5 expired_token: the device code's lifetime (expires_in) is over. */
export function requireUnexpiredDeviceCode(authorization: DeviceAuthorization, now: number): void {
  if (authorization.expiresAt <= now)
    throw new OAuthError('expired_token', 'The device code has expired; start a new device authorization.', {
      reason: 'device-code-expired',
    });
}

/**
 * RFC 8628 §3.5: the pace of this poll against the previous one. Too early (by more than POLL_TOLERANCE_MS)
 * means slow_down, and the interval grows by 5 seconds for this and every later poll of the device code.
 * Returns what to remember for the next poll and whether this one was too fast.
 */
export function pollPace(
  previous: DevicePoll | null,
  now: number,
  initialInterval: number,
): { poll: DevicePoll; tooFast: boolean } {
  const interval = previous?.interval ?? initialInterval;
  const tooFast = previous !== null && now - previous.at < interval * 1000 - POLL_TOLERANCE_MS;
  return { poll: { at: now, interval: tooFast ? interval + SLOW_DOWN_STEP_SECONDS : interval }, tooFast };
}

/** RFC 8628 §3.5 slow_down. */
export function requireSlowerPolling(pace: { poll: DevicePoll; tooFast: boolean }): void {
  if (pace.tooFast)
    throw new OAuthError(
      'slow_down',
      `Polling too fast; wait at least ${pace.poll.interval} seconds between requests.`,
      {
        reason: 'device-polled-too-fast',
      },
    );
}

/**
 * RFC 8628 §3.5: authorization_pending while the person has not decided, access_denied once they refused
 * (400, as every §5.2 error of the token endpoint). Returns the approving user's id.
 */
export function requireApproval(decision: DeviceDecision | null): string {
  if (!decision)
    throw new OAuthError('authorization_pending', 'The user has not yet approved or denied the request.', {
      reason: 'device-authorization-pending',
    });
  if (decision.status === 'denied')
    throw new OAuthError('access_denied', 'The user denied the request.', {
      status: 400,
      reason: 'device-access-denied',
    });
  return decision.userId;
}

/** RFC 8628 §3.5 / RFC 6749 §5.2 invalid_grant: a device code gives tokens once. */
export function requireFirstRedemption(first: boolean): void {
  if (!first)
    throw new OAuthError('invalid_grant', 'The device code was already used.', { reason: 'device-code-used' });
}
