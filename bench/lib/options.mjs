// The benchmark's command line (documented in bench/run.mjs's header): node:util parseArgs, each flag with a
// BENCH_* environment variable as its fallback (--flow-workers → BENCH_FLOW_WORKERS; empty means unset), then
// the default. Unknown flags, positional arguments and bad values stop the run with a message naming them.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';

/** A non-negative number (durations may be fractions of a second). */
function number(label, raw) {
  const v = Number(raw);
  if (raw === '' || !Number.isFinite(v) || v < 0)
    throw new Error(`bench: ${label} must be a non-negative number (got '${raw}')`);
  return v;
}

/** true/false/1/0, any case: the repository's one spelling of a flag. */
function flag(label, raw) {
  if (typeof raw === 'boolean') return raw;
  const v = raw.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Error(`bench: ${label} must be true or false (got '${raw}')`);
}

const list = (_label, raw) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const text = (_label, raw) => raw;

/** Every flag: its parseArgs type, how its value is read, its default. `only`'s default depends on --profile. */
const FLAGS = {
  duration: { read: number, default: '10' },
  warmup: { read: number, default: '2' },
  connections: { read: number, default: '16' },
  'flow-workers': { read: number, default: '16' },
  repeat: { read: number, default: '1' },
  'startup-repeat': { read: number, default: '3' },
  only: { read: list },
  profile: { boolean: true, read: flag, default: false },
  'image-runtime': { read: flag, default: 'true' },
  out: { read: text, default: 'bench-results' },
  'node-options': { read: text, default: '' },
  'node-args': { read: text, default: '' },
};

const envName = (name) => `BENCH_${name.toUpperCase().replace(/-/g, '_')}`;

/**
 * The options of one run from `args` (process.argv.slice(2)) and `env`. `scenarios` are the known scenarios
 * ({ name, description }, for --only), `profiled` the names --only defaults to under --profile, `root` what
 * --out is relative to.
 * Returns { options (as recorded in the results), only, nodeOptions, nodeArgs }.
 */
export function readOptions({ args, env = process.env, scenarios, profiled, root }) {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(FLAGS).map(([name, f]) => [name, { type: f.boolean ? 'boolean' : 'string' }]),
      ),
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    const known = Object.keys(FLAGS)
      .map((n) => `--${n}`)
      .join(' ');
    throw new Error(`bench: ${err.message} (options: ${known}; see bench/run.mjs)`, { cause: err });
  }
  const get = (name, fallback = FLAGS[name].default) => {
    const fromEnv = env[envName(name)] === '' ? undefined : env[envName(name)];
    const label = values[name] === undefined && fromEnv !== undefined ? envName(name) : `--${name}`;
    const raw = values[name] ?? fromEnv ?? fallback;
    return raw === undefined ? undefined : FLAGS[name].read(label, raw);
  };
  const options = {
    duration: get('duration'),
    warmup: get('warmup'),
    connections: get('connections'),
    flowWorkers: get('flow-workers'),
    repeat: Math.max(1, get('repeat')),
    startupRepeat: get('startup-repeat'),
    profile: get('profile'),
    // As the images run the services (their Dockerfile's runtime ENV and CMD flags); false to measure without.
    imageRuntime: get('image-runtime'),
    out: resolve(root, get('out')),
  };
  const names = scenarios.map((s) => s.name);
  const only = get('only', (options.profile ? profiled : names).join(','));
  for (const name of only) {
    if (!names.includes(name)) {
      const known = scenarios.map((s) => `  ${s.name.padEnd(26)}${s.description}`).join('\n');
      throw new Error(`bench: unknown scenario ${name} in --only; the scenarios are:\n${known}`);
    }
  }
  return { options, only, nodeOptions: get('node-options'), nodeArgs: get('node-args') };
}
