// High-entropy values the server hands out (authorization codes in Redis, refresh tokens and the code a grant
// came from in PostgreSQL) are stored only as their SHA-256, so a dump yields nothing usable. A fast hash is
// enough: with 256 random bits there is nothing to brute-force (unlike passwords, see lib/passwords.ts).
import { createHash } from 'node:crypto';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
