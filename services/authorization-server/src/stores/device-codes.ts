// Device authorizations (RFC 8628) in the key-value store, one key space of device codes and one index of
// user codes, both capped (anyone who knows a public client's id can start one) and expiring:
//  - device:<hash of the device code>: the DeviceAuthorization, kept DEVICE_CODE_TTL plus as long again, so a
//    device polling late hears expired_token (RFC 8628 §3.5) rather than invalid_grant;
//  - device:<hash>:decision, device:<hash>:poll: what the person decided, and the last poll (slow_down);
//  - device-user:<hash of the user code>: the device code's hash, for the verification page, until decided.
// Device codes are 256 random bits and, like user codes, stored only as hashes, so a dump of Redis yields no
// usable code. Three steps must be first-wins in Redis and in the in-process store alike, and use the store's
// claim() (an atomic SET NX of a marker): reserving a new user code (two devices never share one), deciding
// (one decision per user code, then it is forgotten) and redeeming (a device code gives tokens once).
// The store reports facts; the token endpoint and the verification page draw the conclusions.
import { randomBytes } from 'node:crypto';
import type { KeySpace, KeyValueStore } from '@quartet/common';
import type { DeviceAuthorization, DeviceDecision, DevicePoll } from '../domain/records.js';
import { hashToken } from '../lib/token-hash.js';
import { generateUserCode } from '../lib/device-grant.js';

/** Tries to find a user code not in use before giving up (each collides with odds live codes / 20^8). */
const USER_CODE_ATTEMPTS = 5;

export function generateDeviceCode(): string {
  return randomBytes(32).toString('base64url');
}

export interface DeviceCodeSettings {
  /** DEVICE_CODE_TTL, seconds. */
  ttlSeconds: number;
  /** MAX_DEVICE_AUTHORIZATIONS: live device codes (and user codes) at most. */
  maxEntries: number;
  now?: () => number;
}

/** Decided: the person's decision was recorded; the device authorization it was for. */
export type DecisionOutcome = { decided: true; authorization: DeviceAuthorization } | { decided: false };

export class DeviceCodeStore {
  private readonly devices: KeySpace;
  private readonly userCodes: KeySpace;
  private readonly now: () => number;

  constructor(
    private readonly kv: KeyValueStore,
    private readonly settings: DeviceCodeSettings,
  ) {
    this.devices = { name: 'device-codes', maxEntries: settings.maxEntries };
    this.userCodes = { name: 'device-user-codes', maxEntries: settings.maxEntries };
    this.now = settings.now ?? Date.now;
  }

  private deviceKey = (deviceCode: string) => `device:${hashToken(deviceCode)}`;
  private userKey = (userCode: string) => `device-user:${hashToken(userCode)}`;
  /** Seconds a device record is kept: its lifetime, then as long again to answer expired_token. */
  private get keptSeconds() {
    return this.settings.ttlSeconds * 2;
  }

  /**
   * Stores a new device authorization under a fresh user code (returned, normalised). Throws StoreFullError
   * when MAX_DEVICE_AUTHORIZATIONS are live.
   */
  async create(deviceCode: string, pending: Omit<DeviceAuthorization, 'userCode' | 'expiresAt'>): Promise<string> {
    const { ttlSeconds } = this.settings;
    const key = this.deviceKey(deviceCode);
    const expiresAt = this.now() + ttlSeconds * 1000;
    for (let attempt = 0; attempt < USER_CODE_ATTEMPTS; attempt++) {
      const userCode = generateUserCode();
      // The record first: a full space is refused before anything else is kept (setIn again replaces it).
      const authorization: DeviceAuthorization = { ...pending, userCode, expiresAt };
      await this.kv.setIn(this.devices, key, JSON.stringify(authorization), this.keptSeconds);
      // The reservation marker lives as long as the code's index entry: a code is never handed out twice at once.
      const { first } = await this.kv.claim(`device-user-reserved:${hashToken(userCode)}`, ttlSeconds);
      if (!first) continue;
      await this.kv.setIn(this.userCodes, this.userKey(userCode), hashToken(deviceCode), ttlSeconds);
      return userCode;
    }
    await this.kv.deleteFrom(this.devices, key);
    throw new Error('no free user code found');
  }

  /** The device authorization (expired ones too, for a while); null when unknown. */
  async find(deviceCode: string): Promise<DeviceAuthorization | null> {
    return parse<DeviceAuthorization>(await this.kv.get(this.deviceKey(deviceCode)));
  }

  /** The undecided, unexpired device authorization a user code stands for, or null. */
  async findByUserCode(userCode: string): Promise<DeviceAuthorization | null> {
    const deviceHash = await this.kv.get(this.userKey(userCode));
    if (!deviceHash) return null;
    const authorization = parse<DeviceAuthorization>(await this.kv.get(`device:${deviceHash}`));
    return authorization && authorization.expiresAt > this.now() ? authorization : null;
  }

  /**
   * Records the person's decision for a user code, first-wins: of two submissions (two tabs, approve and
   * deny at once) exactly one is recorded, and the user code is forgotten (RFC 8628 §6.1: it is single-use).
   */
  async decide(userCode: string, decision: DeviceDecision): Promise<DecisionOutcome> {
    const key = this.userKey(userCode);
    const { value: deviceHash, first } = await this.kv.claim(key, this.settings.ttlSeconds);
    if (!first || !deviceHash) return { decided: false };
    const authorization = parse<DeviceAuthorization>(await this.kv.get(`device:${deviceHash}`));
    if (!authorization || authorization.expiresAt <= this.now()) return { decided: false };
    await this.kv.set(`device:${deviceHash}:decision`, JSON.stringify(decision), this.keptSeconds);
    await this.kv.deleteFrom(this.userCodes, key);
    return { decided: true, authorization };
  }

  /** The decision for a device code, null while the person has not decided. */
  async decision(deviceCode: string): Promise<DeviceDecision | null> {
    return parse<DeviceDecision>(await this.kv.get(`${this.deviceKey(deviceCode)}:decision`));
  }

  /** The last poll of the device code, null before the first. */
  async lastPoll(deviceCode: string): Promise<DevicePoll | null> {
    return parse<DevicePoll>(await this.kv.get(`${this.deviceKey(deviceCode)}:poll`));
  }

  /**
   * Remembers a poll. Two polls at once may both read the same last poll; that only decides whether one of
   * them hears slow_down, never what a redemption gets (redeem is first-wins).
   */
  async recordPoll(deviceCode: string, poll: DevicePoll): Promise<void> {
    await this.kv.set(`${this.deviceKey(deviceCode)}:poll`, JSON.stringify(poll), this.keptSeconds);
  }

  /** Claims the device code for redemption: true for exactly one caller (RFC 8628 §3.5, single use). */
  async redeem(deviceCode: string): Promise<boolean> {
    const { first } = await this.kv.claim(this.deviceKey(deviceCode), this.keptSeconds);
    return first;
  }
}

function parse<T>(value: string | null): T | null {
  return value === null ? null : (JSON.parse(value) as T);
}
