// What the operator commands (`npm run keys`, `npm run clients`) share: the server's own configuration and
// database (DATABASE_URL, or the embedded one in DATA_DIR), exit codes, and messages instead of stack traces.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readConfig, type Config } from '../config.js';
import { isMigrated, openPrisma } from '../database.js';
import type { PrismaClient } from '../generated/prisma/client.js';

/** Bad command-line input: exit code 2 with the message and the usage. */
export class UsageError extends Error {}

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** node:util parseArgs, with its errors (unknown option, missing value) turned into UsageError. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T) {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Opens the configured database (refusing one without the schema), runs `fn`, and closes it. */
export async function withDatabase<R>(config: Config, fn: (prisma: PrismaClient) => Promise<R>): Promise<R> {
  const db = await openPrisma(config);
  try {
    if (!(await isMigrated(db.prisma))) {
      throw new Error(`the database (${db.handle.description}) has no schema yet: run \`npm run migrate\` first`);
    }
    return await fn(db.prisma);
  } finally {
    await db.close();
  }
}

/** Runs a command: reads the configuration, maps UsageError to exit code 2 and any other failure to 1. */
export async function runCommand(name: string, usage: string, main: (config: Config) => Promise<void>): Promise<void> {
  if (['help', '--help', '-h'].includes(process.argv[2] ?? '')) {
    console.log(usage);
    return;
  }
  try {
    await main(readConfig());
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${name}: ${err.message}\n\n${usage}`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    // A message, not a stack trace: the usual causes (bad config, database in use or unreachable) are the user's to fix.
    console.error(`${name} failed: ${(err as Error).message}`);
    process.exitCode = EXIT_FAILURE;
  }
}

/** "2026-01-01T12:00:00.000Z (in 60 s)" style, for times around now. */
export function describeTime(date: Date | null, now: Date = new Date()): string {
  if (!date) return '-';
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
  const relative = seconds === 0 ? 'now' : seconds > 0 ? `in ${seconds} s` : `${-seconds} s ago`;
  return `${date.toISOString()} (${relative})`;
}
