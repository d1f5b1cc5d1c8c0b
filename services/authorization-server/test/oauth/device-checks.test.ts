// The device authorization grant checks (src/oauth/device-checks.ts) and user codes (src/lib/device-grant.ts),
// one table row per rule with the exact answer.
import t from 'tap';
import type { ClientRecord, DeviceAuthorization } from '../../src/domain/records.js';
import {
  DEVICE_CODE_GRANT,
  pollPace,
  requireApproval,
  requireDeviceCodeParameter,
  requireDeviceGrantAllowed,
  requireFirstRedemption,
  requireKnownDeviceCode,
  requireSameDeviceClient,
  requireSlowerPolling,
  requireUnexpiredDeviceCode,
} from '../../src/oauth/device-checks.js';
import {
  USER_CODE_ALPHABET,
  displayUserCode,
  generateUserCode,
  normaliseUserCode,
} from '../../src/lib/device-grant.js';
import { refuses, type Refusal } from './refusals.js';
import { CONFIDENTIAL, PUBLIC } from './client-fixtures.js';

const DEVICE: ClientRecord = { ...PUBLIC, id: 'workshop-device', grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'] };
const NOW = 1_800_000_000_000;
const AUTHORIZATION: DeviceAuthorization = {
  clientId: 'workshop-device',
  scopes: ['photos:read'],
  resource: 'http://localhost:9100',
  userCode: 'BCDFGHJK',
  expiresAt: NOW + 600_000,
  interval: 5,
};

const rows: [string, () => unknown, Refusal][] = [
  [
    'a client not registered for the device grant (RFC 8628 §3.1, RFC 6749 §5.2)',
    () => requireDeviceGrantAllowed(CONFIDENTIAL),
    {
      error: 'unauthorized_client',
      description: 'This client may not use the device authorization grant.',
      reason: 'device-grant-not-allowed',
    },
  ],
  [
    'no device_code (RFC 8628 §3.4)',
    () => requireDeviceCodeParameter({}),
    { error: 'invalid_request', description: 'device_code is required.', reason: 'device-code-missing' },
  ],
  [
    'an unknown device code',
    () => requireKnownDeviceCode(null),
    { error: 'invalid_grant', description: 'The device code is invalid.', reason: 'device-code-invalid' },
  ],
  [
    'a device code issued to another client',
    () => requireSameDeviceClient(AUTHORIZATION, CONFIDENTIAL),
    {
      error: 'invalid_grant',
      description: 'The device code was issued to another client.',
      reason: 'device-code-other-client',
    },
  ],
  [
    'an expired device code (RFC 8628 §3.5 expired_token)',
    () => requireUnexpiredDeviceCode(AUTHORIZATION, AUTHORIZATION.expiresAt),
    {
      error: 'expired_token',
      description: 'The device code has expired; start a new device authorization.',
      reason: 'device-code-expired',
    },
  ],
  [
    'a poll before the interval is up (RFC 8628 §3.5 slow_down, interval + 5 s)',
    () => requireSlowerPolling(pollPace({ at: NOW - 1000, interval: 5 }, NOW, 5)),
    {
      error: 'slow_down',
      description: 'Polling too fast; wait at least 10 seconds between requests.',
      reason: 'device-polled-too-fast',
    },
  ],
  [
    'no decision yet (RFC 8628 §3.5 authorization_pending)',
    () => requireApproval(null),
    {
      error: 'authorization_pending',
      description: 'The user has not yet approved or denied the request.',
      reason: 'device-authorization-pending',
    },
  ],
  [
    'the person denied (RFC 8628 §3.5 access_denied, 400 at the token endpoint)',
    () => requireApproval({ status: 'denied' }),
    { error: 'access_denied', description: 'The user denied the request.', reason: 'device-access-denied' },
  ],
  [
    'a device code redeemed before',
    () => requireFirstRedemption(false),
    { error: 'invalid_grant', description: 'The device code was already used.', reason: 'device-code-used' },
  ],
];

for (const [name, run, expected] of rows) t.test(name, (t) => refuses(t, run, expected));

t.test('what the checks let through', async (t) => {
  t.doesNotThrow(() => requireDeviceGrantAllowed(DEVICE));
  t.equal(requireDeviceCodeParameter({ device_code: 'dc' }), 'dc');
  t.equal(requireKnownDeviceCode(AUTHORIZATION), AUTHORIZATION);
  t.doesNotThrow(() => requireSameDeviceClient(AUTHORIZATION, DEVICE));
  t.doesNotThrow(() => requireUnexpiredDeviceCode(AUTHORIZATION, AUTHORIZATION.expiresAt - 1));
  t.equal(requireApproval({ status: 'approved', userId: 'u' }), 'u');
  t.doesNotThrow(() => requireFirstRedemption(true));
});

t.test('polling pace (RFC 8628 §3.5): the interval grows by 5 s per slow_down and stays grown', async (t) => {
  t.same(pollPace(null, NOW, 5), { poll: { at: NOW, interval: 5 }, tooFast: false }, 'the first poll is on time');
  t.same(pollPace({ at: NOW - 5000, interval: 5 }, NOW, 5), { poll: { at: NOW, interval: 5 }, tooFast: false });
  t.same(
    pollPace({ at: NOW - 4600, interval: 5 }, NOW, 5).tooFast,
    false,
    'within the tolerance for clocks and timers',
  );
  t.same(pollPace({ at: NOW - 4400, interval: 5 }, NOW, 5), { poll: { at: NOW, interval: 10 }, tooFast: true });
  t.same(
    pollPace({ at: NOW - 6000, interval: 10 }, NOW, 5),
    { poll: { at: NOW, interval: 15 }, tooFast: true },
    'the grown interval is what counts next',
  );
  t.same(pollPace({ at: NOW - 10_000, interval: 10 }, NOW, 5), { poll: { at: NOW, interval: 10 }, tooFast: false });
});

t.test('user codes (RFC 8628 §6.1): 8 consonants, shown with a dash, typed any way', async (t) => {
  for (let i = 0; i < 50; i++) {
    const code = generateUserCode();
    t.match(code, new RegExp(`^[${USER_CODE_ALPHABET}]{8}$`));
  }
  t.equal(USER_CODE_ALPHABET.length, 20, '20^8 codes');
  t.equal(displayUserCode('BCDFGHJK'), 'BCDF-GHJK');
  const rows: [string, string | null][] = [
    ['BCDF-GHJK', 'BCDFGHJK'],
    ['bcdf-ghjk', 'BCDFGHJK'],
    ['bcdfghjk', 'BCDFGHJK'],
    [' BCDF GHJK ', 'BCDFGHJK'],
    ['BCDF-GHJ', null],
    ['BCDF-GHJKL', null],
    ['ABCD-EFGH', null],
    ['BCDF-GHJ1', null],
    ['', null],
  ];
  for (const [typed, expected] of rows) t.equal(normaliseUserCode(typed), expected, JSON.stringify(typed));
});
