// Signing keys for access tokens (RFC 9068, RFC 7517) and their rotation. Keys live in PostgreSQL with the
// private JWK encrypted (see lib/key-encryption.ts), are created once for the whole deployment and loaded at
// start: every instance signs with the same key and a restart does not invalidate issued tokens.
//
// Rotation is decided by timestamps in the database, so replicas agree without talking to each other:
// - a key is published (in the JWKS, RFC 7517 §5) from its creation until `retired_at`;
// - it signs from `activated_at` on, and the signing key is the one with the latest `activated_at <= now`;
// - `rotateSigningKey` inserts a key whose `activated_at` lies KEY_PUBLISH_DELAY in the future — long enough
//   for every replica to re-read the keys (KEY_RELOAD_INTERVAL) and for every resource server to be allowed
//   to refetch the JWKS (its refetch cooldown) — and schedules the previous keys' `retired_at` after the last
//   token they can sign has expired (ACCESS_TOKEN_TTL) plus a margin for the resource servers' clock tolerance.
// Every instance re-reads the keys every KEY_RELOAD_INTERVAL seconds; states are evaluated against the clock
// at each use, so a key starts signing at its `activated_at` even between two reloads.
// plugins/key-manager.ts wires the KeyManager onto the app; the CLI (npm run keys) rotates and lists here.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { guardStorage } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import { decryptPrivateKey, encryptPrivateKey } from '../lib/key-encryption.js';

export const SIGNING_ALG = 'ES256';
// Serialises key creation and rotation across processes: two instances starting on an empty database
// create one key, and two rotations at once do not interleave their updates.
const KEY_CREATION_LOCK = 4_207_001;
/** Default seconds an old key stays published after its last token expired (covers resource server clock tolerance). */
export const DEFAULT_RETIRE_MARGIN = 60;

/** The timestamps that decide a key's state. */
export interface KeyTimes {
  kid: string;
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
}

/**
 * published: in the JWKS, not signing yet; active: the signing key; retiring: signed before, still in the
 * JWKS so its tokens verify until they expire; retired: gone from the JWKS.
 */
export type KeyState = 'published' | 'active' | 'retiring' | 'retired';

const isPublished = (key: KeyTimes, now: number) => key.retiredAt === null || key.retiredAt.getTime() > now;

/** The key that signs at `now`: the published key with the latest `activated_at` not after `now`. */
export function selectSigningKey<K extends KeyTimes>(keys: readonly K[], now: number = Date.now()): K | undefined {
  let best: K | undefined;
  for (const key of keys) {
    if (!isPublished(key, now) || key.activatedAt === null || key.activatedAt.getTime() > now) continue;
    if (!best || key.activatedAt.getTime() > best.activatedAt!.getTime()) best = key;
  }
  return best;
}

/** Keys in the JWKS at `now`: every key not yet retired, including those that do not sign yet. */
export function publishedKeys<K extends KeyTimes>(keys: readonly K[], now: number = Date.now()): K[] {
  return keys.filter((key) => isPublished(key, now));
}

/** The state of every key at `now`. */
export function keyStates<K extends KeyTimes>(
  keys: readonly K[],
  now: number = Date.now(),
): Array<K & { state: KeyState }> {
  const signing = selectSigningKey(keys, now);
  return keys.map((key) => {
    let state: KeyState;
    if (!isPublished(key, now)) state = 'retired';
    else if (key === signing) state = 'active';
    else if (key.activatedAt === null || key.activatedAt.getTime() > now) state = 'published';
    else state = 'retiring';
    return { ...key, state };
  });
}

export interface RotationOptions {
  /** Seconds between publication and the switch (KEY_PUBLISH_DELAY). */
  publishDelay: number;
  /** Seconds an access token lives (ACCESS_TOKEN_TTL): the last token of an old key expires this long after the switch. */
  accessTokenTtl: number;
  /** Extra seconds the old keys stay published (at least the resource servers' clock tolerance). */
  retireMargin?: number;
  now?: Date;
}

export interface RotationResult {
  kid: string;
  publishedAt: Date;
  activatesAt: Date;
  /** Keys the new one supersedes, with when they leave the JWKS. */
  retiring: Array<{ kid: string; retiresAt: Date }>;
}

interface LoadedKey extends KeyTimes {
  publicJwk: JWK;
  /** A node:crypto key: the token endpoint signs with node:crypto (see AccessTokenIssuer.issue). */
  privateKey: KeyObject;
}

interface KeyRow extends KeyTimes {
  alg: string;
  publicJwk: unknown;
  privateJwkEnc: string;
}

interface ReloadLog {
  warn(obj: object, msg: string): void;
  info(msg: string): void;
}

export class KeyManager {
  private keys: LoadedKey[];
  private timer: NodeJS.Timeout | null = null;
  private reloading: Promise<void> | null = null;

  private constructor(
    private readonly prisma: PrismaClient,
    private readonly secret: string,
    keys: LoadedKey[],
  ) {
    this.keys = keys;
  }

  /** Creates the first key if none can sign (under an advisory lock), then loads every published key. */
  static async load(prisma: PrismaClient, secret: string): Promise<KeyManager> {
    await guardStorage('postgresql', () =>
      prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEY_CREATION_LOCK}::bigint)`;
        const now = new Date();
        // Rotation never retires a key before its successor signs, so this only finds nothing on a new database.
        const usable = await tx.signingKey.count({
          where: { activatedAt: { lte: now }, OR: [{ retiredAt: null }, { retiredAt: { gt: now } }] },
        });
        if (usable > 0) return;
        await tx.signingKey.create({ data: await generateKey(secret, now, now) });
      }),
    );
    const manager = new KeyManager(prisma, secret, []);
    manager.keys = await manager.read([]);
    return manager;
  }

  /** Reads the published keys, reusing already imported private keys (a reload does not decrypt them again). */
  private async read(previous: readonly LoadedKey[]): Promise<LoadedKey[]> {
    const now = new Date();
    const rows: KeyRow[] = await guardStorage('postgresql', () =>
      this.prisma.signingKey.findMany({
        where: { OR: [{ retiredAt: null }, { retiredAt: { gt: now } }] },
        orderBy: { createdAt: 'desc' },
      }),
    );
    const known = new Map(previous.map((k) => [k.kid, k]));
    return Promise.all(
      rows.map(async (row) => ({
        kid: row.kid,
        createdAt: row.createdAt,
        activatedAt: row.activatedAt,
        retiredAt: row.retiredAt,
        publicJwk: row.publicJwk as JWK,
        privateKey:
          known.get(row.kid)?.privateKey ??
          createPrivateKey({
            key: JSON.parse(decryptPrivateKey(row.privateJwkEnc, this.secret, row.kid)) as JWK & { kty: string },
            format: 'jwk',
          }),
      })),
    );
  }

  /**
   * Re-reads the keys (a rotation made by `keys rotate` or another instance). On failure the last good set
   * stays in use and the error is thrown to the caller; concurrent calls share one read.
   */
  reload(): Promise<void> {
    this.reloading ??= this.read(this.keys)
      .then((keys) => {
        this.keys = keys;
      })
      .finally(() => {
        this.reloading = null;
      });
    return this.reloading;
  }

  /** Reloads every `intervalSeconds`; failures are logged and the last good set is kept. Does not hold the process open. */
  startReloading(intervalSeconds: number, log: ReloadLog): void {
    this.stopReloading();
    this.timer = setInterval(() => {
      const before = this.jwks()
        .keys.map((k) => k.kid)
        .join(',');
      this.reload().then(
        () => {
          const after = this.jwks()
            .keys.map((k) => k.kid)
            .join(',');
          if (after !== before)
            log.info(
              `signing keys reloaded: published ${after}; signing with ${selectSigningKey(this.keys)?.kid ?? 'none'}`,
            );
        },
        (err: Error) => {
          // Only the message: errors from the database never carry key material, but keep logs small.
          if (this.timer)
            log.warn({ err: { message: err.message } }, 'signing key reload failed; keeping the keys loaded before');
        },
      );
    }, intervalSeconds * 1000);
    this.timer.unref();
  }

  stopReloading(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Waits for a reload in flight (so closing the database does not cut one off). */
  async settled(): Promise<void> {
    await this.reloading?.catch(() => {});
  }

  /** RFC 7517 JWK Set of every published key: public members only. */
  jwks(now: number = Date.now()): { keys: JWK[] } {
    return { keys: publishedKeys(this.keys, now).map((k) => k.publicJwk) };
  }

  /** The key that signs now (latest activated, not retired). */
  signingKey(now: number = Date.now()): { kid: string; alg: string; key: KeyObject } {
    const key = selectSigningKey(this.keys, now);
    if (!key) throw new Error('No active signing key');
    return { kid: key.kid, alg: SIGNING_ALG, key: key.privateKey };
  }
}

async function generateKey(secret: string, createdAt: Date, activatedAt: Date) {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  // RFC 7638 thumbprint as kid: stable, derived from the key, unique in practice.
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  return {
    kid,
    alg: SIGNING_ALG,
    publicJwk: { ...publicJwk, kid, alg: SIGNING_ALG, use: 'sig' },
    privateJwkEnc: encryptPrivateKey(JSON.stringify(privateJwk), secret, kid),
    createdAt,
    activatedAt,
  };
}

/**
 * Adds a key that is published now and signs `publishDelay` seconds from now (at once when no key signs yet),
 * and schedules the retirement
 * of every key not already scheduled: `switch + accessTokenTtl + retireMargin`, when every token they signed
 * has expired even on a resource server whose clock is `retireMargin` seconds behind.
 */
export async function rotateSigningKey(
  prisma: PrismaClient,
  secret: string,
  options: RotationOptions,
): Promise<RotationResult> {
  const now = options.now ?? new Date();
  const data = await generateKey(secret, now, now);
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEY_CREATION_LOCK}::bigint)`;
    const current = await tx.signingKey.findMany({
      select: { kid: true, createdAt: true, activatedAt: true, retiredAt: true },
    });
    // With no key signing (a database no server has started on yet) no token or resource server can be
    // caught out: the new key signs at once, and the first start finds it instead of creating another.
    const activatesAt = selectSigningKey(current, now.getTime())
      ? new Date(now.getTime() + options.publishDelay * 1000)
      : now;
    const retiresAt = new Date(
      activatesAt.getTime() + (options.accessTokenTtl + (options.retireMargin ?? DEFAULT_RETIRE_MARGIN)) * 1000,
    );
    // Keys already scheduled to retire (an earlier rotation) keep their earlier date.
    const superseded = current
      .filter((k) => k.retiredAt === null)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    await tx.signingKey.updateMany({
      where: { kid: { in: superseded.map((k) => k.kid) } },
      data: { retiredAt: retiresAt },
    });
    await tx.signingKey.create({ data: { ...data, activatedAt: activatesAt } });
    return {
      kid: data.kid,
      publishedAt: now,
      activatesAt,
      retiring: superseded.map((k) => ({ kid: k.kid, retiresAt })),
    };
  });
}

/** Every key ever created (newest first) with its state at `now`. */
export async function listSigningKeys(
  prisma: PrismaClient,
  now: Date = new Date(),
): Promise<Array<KeyTimes & { state: KeyState }>> {
  const rows = await prisma.signingKey.findMany({
    select: { kid: true, createdAt: true, activatedAt: true, retiredAt: true },
    orderBy: { createdAt: 'desc' },
  });
  return keyStates(rows, now.getTime());
}
