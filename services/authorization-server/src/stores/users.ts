// Users in PostgreSQL. Every call goes through guardStorage, so an outage surfaces as StorageUnavailableError
// (503) and can never be mistaken for "unknown user" or "wrong password".
import { guardStorage } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { UserRecord } from '../domain/records.js';
import { verifyPassword } from '../lib/passwords.js';
import type { HashingQueue } from '../lib/hashing-queue.js';

const pg = <T>(fn: () => Promise<T>) => guardStorage('postgresql', fn);

export class UserDirectory {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly dummyHash: string,
    private readonly hashing: HashingQueue,
  ) {}

  /**
   * The user whose username and password match, else null. An unknown username still costs one scrypt
   * run against a dummy hash, so response time does not reveal which usernames exist. The scrypt run waits
   * its turn in the bounded hashing queue (HashingQueueFullError, 503, when it is full).
   */
  async authenticate(username: string, password: string): Promise<UserRecord | null> {
    const user = await pg(() => this.prisma.user.findUnique({ where: { username } }));
    const ok = await this.hashing.run(() => verifyPassword(password, user?.passwordHash ?? this.dummyHash));
    return user && ok ? { id: user.id, username: user.username } : null;
  }

  findById(id: string): Promise<UserRecord | null> {
    return pg(() => this.prisma.user.findUnique({ where: { id }, select: { id: true, username: true } }));
  }
}
