// How a service's container image runs it, read from the runtime stage of services/<service>/Dockerfile, so
// that the benchmark (bench/lib/processes.mjs) and the bundle test (test/images.test.ts) run the bundles with
// the image's settings instead of a copy of them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

/**
 * How the image runs a service: the ENV and the node flags of the runtime stage of
 * services/<service>/Dockerfile (`FROM … AS runtime`, `CMD ["node", <flags…>, "dist/server.mjs"]`), read from
 * the Dockerfile itself so the benchmark cannot drift from what operators deploy.
 */
export function imageRuntime(service) {
  const text = readFileSync(join(root, 'services', service, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const stage = text.split(/^FROM\s+/m).find((s) => /^\S+\s+AS\s+runtime\b/i.test(s));
  if (!stage) throw new Error(`services/${service}/Dockerfile has no "AS runtime" stage`);
  const env = {};
  for (const [, args] of stage.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const m of args.matchAll(/([A-Za-z_]\w*)=(?:"([^"]*)"|(\S+))/g)) env[m[1]] = m[2] ?? m[3];
  }
  const cmd = [...stage.matchAll(/^CMD\s+(\[.*\])\s*$/gm)].at(-1)?.[1];
  const argv = cmd ? JSON.parse(cmd) : [];
  if (argv[0] !== 'node' || !String(argv.at(-1)).endsWith('.mjs'))
    throw new Error(`services/${service}/Dockerfile: CMD is not ["node", …, "<bundle>.mjs"]`);
  for (const key of ['HOST', 'PORT']) delete env[key]; // callers pick their own
  return { env, nodeArgs: argv.slice(1, -1) };
}
