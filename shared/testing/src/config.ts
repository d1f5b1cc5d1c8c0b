// Config tests of the three services: one convention for flags and for refusing a bad value (a ConfigError
// whose message names the variable), so the same checks serve each service's readConfig.

/** The assertions these checks make (tap's `t`). */
interface Assert {
  equal(found: unknown, wanted: unknown, message: string): unknown;
  throws(fn: () => unknown, wanted: { name: string; message: RegExp }, message: string): unknown;
}

type ReadConfig = (env: NodeJS.ProcessEnv) => object;

/** How a flag may be spelled (normaliseEnv): true/false or 1/0 in any case, blanks trimmed; empty means unset. */
const FLAG_SPELLINGS: ReadonlyArray<readonly [string, boolean]> = [
  ['true', true],
  ['1', true],
  ['TRUE', true],
  ['TRUE ', true],
  ['False', false],
  ['false', false],
  ['0', false],
  ['', false],
];

/** Each of `flags` reads every spelling as its boolean; `env` adds what setting them needs (a trace secret). */
export function checkFlagSpellings(
  t: Assert,
  readConfig: ReadConfig,
  flags: readonly string[],
  env: NodeJS.ProcessEnv = {},
): void {
  for (const [value, expected] of FLAG_SPELLINGS) {
    const config = readConfig({ ...env, ...Object.fromEntries(flags.map((flag) => [flag, value])) }) as Record<
      string,
      unknown
    >;
    for (const flag of flags) t.equal(config[flag], expected, `${flag}=${value}`);
  }
}

/** Each case's env (over `base`) is refused with a ConfigError whose message matches. */
export function checkConfigRefuses(
  t: Assert,
  readConfig: ReadConfig,
  cases: ReadonlyArray<readonly [NodeJS.ProcessEnv, RegExp]>,
  base: NodeJS.ProcessEnv = {},
): void {
  for (const [env, message] of cases) {
    t.throws(() => readConfig({ ...base, ...env }), { name: 'ConfigError', message }, JSON.stringify(env));
  }
}
