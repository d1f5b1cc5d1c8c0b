// `npm run keys -- list | rotate`: the signing keys of the access tokens (RFC 9068, RFC 7517) and their
// rotation, on the server's own database and configuration. The rotation schedule is kept in the database
// (see plugins/key-manager.ts), so running instances follow it by themselves: nothing is restarted.
import { DEFAULT_RETIRE_MARGIN, listSigningKeys, rotateSigningKey } from '../stores/signing-keys.js';
import { keyRotationProblem } from '../config.js';
import { UsageError, describeTime, parseCommandLine, runCommand, withDatabase } from './cli-support.js';

const USAGE = `Usage: npm run keys -w @quartet/authorization-server -- <command>

Commands:
  list [--json]                  every signing key with its state: published (in the JWKS, not signing yet),
                                 active (signing), retiring (still in the JWKS for its tokens), retired
  rotate [--retire-margin SEC]   add a key: published now, signing after KEY_PUBLISH_DELAY; the keys it
                                 replaces leave the JWKS ACCESS_TOKEN_TTL + SEC (default ${DEFAULT_RETIRE_MARGIN}) seconds after
                                 the switch. SEC must cover the resource servers' CLOCK_TOLERANCE.

Uses the server's configuration (DATABASE_URL, or the embedded database in DATA_DIR, KEY_ENCRYPTION_SECRET,
KEY_PUBLISH_DELAY, ACCESS_TOKEN_TTL). An embedded database has one opener: stop the server first.`;

function nonNegativeInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a whole number of seconds (got "${value}")`);
  return Number(value);
}

await runCommand('keys', USAGE, async (config) => {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'list') {
    const { values } = parseCommandLine({ args: rest, options: { json: { type: 'boolean' } } });
    const now = new Date();
    const keys = await withDatabase(config, (prisma) => listSigningKeys(prisma, now));
    if (values.json) {
      console.log(JSON.stringify(keys, null, 2));
      return;
    }
    for (const key of keys) {
      console.log(
        `${key.kid}  ${key.state.padEnd(9)}  created ${describeTime(key.createdAt, now)}  ` +
          `signs from ${describeTime(key.activatedAt, now)}  retires ${describeTime(key.retiredAt, now)}`,
      );
    }
    return;
  }
  if (command === 'rotate') {
    const { values } = parseCommandLine({ args: rest, options: { 'retire-margin': { type: 'string' } } });
    const retireMargin = nonNegativeInteger('--retire-margin', values['retire-margin'], DEFAULT_RETIRE_MARGIN);
    const result = await withDatabase(config, (prisma) =>
      rotateSigningKey(prisma, config.KEY_ENCRYPTION_SECRET, {
        publishDelay: config.KEY_PUBLISH_DELAY,
        accessTokenTtl: config.ACCESS_TOKEN_TTL,
        retireMargin,
      }),
    );
    const now = result.publishedAt;
    console.log(`Added signing key ${result.kid}.`);
    console.log(
      `  published in the JWKS: now; every instance loads it within KEY_RELOAD_INTERVAL (${config.KEY_RELOAD_INTERVAL} s)`,
    );
    console.log(
      result.activatesAt.getTime() === now.getTime()
        ? '  signs from:            now (no key was signing yet)'
        : `  signs from:            ${describeTime(result.activatesAt, now)}; KEY_PUBLISH_DELAY is ${config.KEY_PUBLISH_DELAY} s`,
    );
    for (const old of result.retiring) {
      console.log(
        `Key ${old.kid} signs until the switch, keeps verifying its tokens, and leaves the JWKS at ` +
          `${describeTime(old.retiresAt, now)}: switch + ACCESS_TOKEN_TTL ${config.ACCESS_TOKEN_TTL} s + margin ${retireMargin} s.`,
      );
    }
    const problem = keyRotationProblem(config);
    if (problem) console.error(`warning: ${problem}.`);
    return;
  }
  throw new UsageError(command ? `unknown command "${command}"` : 'a command is required');
});
