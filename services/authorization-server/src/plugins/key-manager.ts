// Signing keys for access tokens (RFC 9068, RFC 7517). Keys live in PostgreSQL with the private JWK
// encrypted (see lib/key-encryption.ts), are created once for the whole deployment and loaded at start:
// every instance signs with the same key and a restart does not invalidate issued tokens.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { guardStorage } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import { decryptPrivateKey, encryptPrivateKey } from '../lib/key-encryption.js';

export const SIGNING_ALG = 'ES256';
// Serialises key creation across processes: two instances starting on an empty database create one key.
const KEY_CREATION_LOCK = 4_207_001;

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  privateKey: CryptoKey;
  activatedAt: Date | null;
}

export class KeyManager {
  private constructor(private readonly keys: LoadedKey[]) {}

  /** Creates the first key if none is active (under an advisory lock), then loads every non-retired key. */
  static async load(prisma: PrismaClient, secret: string): Promise<KeyManager> {
    await guardStorage('postgresql', () =>
      prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEY_CREATION_LOCK}::bigint)`;
        const active = await tx.signingKey.count({ where: { retiredAt: null, activatedAt: { not: null } } });
        if (active > 0) return;
        const row = await KeyManager.generate(secret);
        await tx.signingKey.create({ data: row });
      }),
    );
    const rows = await guardStorage('postgresql', () =>
      prisma.signingKey.findMany({ where: { retiredAt: null }, orderBy: { createdAt: 'desc' } }),
    );
    const keys = await Promise.all(
      rows.map(async (row) => ({
        kid: row.kid,
        publicJwk: row.publicJwk as JWK,
        privateKey: (await importJWK(JSON.parse(decryptPrivateKey(row.privateJwkEnc, secret, row.kid)) as JWK, row.alg)) as CryptoKey,
        activatedAt: row.activatedAt,
      })),
    );
    return new KeyManager(keys);
  }

  private static async generate(secret: string) {
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
      activatedAt: new Date(),
    };
  }

  /** RFC 7517 JWK Set of every published key: public members only. */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /** The newest active key. */
  signingKey(): { kid: string; alg: string; key: CryptoKey } {
    const key = this.keys.filter((k) => k.activatedAt).sort((a, b) => b.activatedAt!.getTime() - a.activatedAt!.getTime())[0];
    if (!key) throw new Error('No active signing key');
    return { kid: key.kid, alg: SIGNING_ALG, key: key.privateKey };
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyManager;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    app.decorate('keys', await KeyManager.load(app.prisma, app.config.KEY_ENCRYPTION_SECRET));
  },
  { name: 'key-manager', dependencies: ['config', 'prisma'] },
);
