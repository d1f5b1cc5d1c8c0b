#!/usr/bin/env node
// Production build: bundles each service's entry points (the server and its command-line tools) into
// services/<service>/dist/<entry>.mjs, so containers run plain `node dist/server.mjs` without tsx or a
// TypeScript compile at start.
//
// - Our own code is bundled: the service's src/, @quartet/common (which exports TypeScript source), and the
//   generated Prisma client (src/generated/prisma). Packages from node_modules stay external imports, so the
//   image installs them with `npm ci --omit=dev` and native/wasm assets (PGlite, Prisma's query compiler)
//   load from their own package folders as usual.
// - Paths: each service's src/paths.ts derives every path from SERVICE_DIR = one folder above the module.
//   A bundle sits in dist/, one folder below the service like src/, so import.meta.url resolves the same
//   views, public files and migrations from either.
// - Every external import must be a production dependency of the service or of @quartet/common: a package
//   that is only present because of a dev dependency would be missing in the image, so the build fails here.
//
// Usage: node scripts/build-services.mjs [service-folder-name ...]   (default: all three)
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Entry points per service: the server plus the CLIs its package.json scripts run through tsx. */
export const SERVICES = {
  'authorization-server': {
    server: 'src/server.ts',
    migrate: 'src/cli/migrate.ts',
    seed: 'src/cli/seed.ts',
    keys: 'src/cli/keys.ts',
    clients: 'src/cli/clients.ts',
  },
  'resource-server': {
    server: 'src/server.ts',
    migrate: 'src/cli/migrate.ts',
    seed: 'src/cli/seed.ts',
  },
  'client-app': {
    server: 'src/server.ts',
  },
};

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Bare imports (packages) stay external, except our own workspace packages, which are TypeScript source. */
const externalPackages = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@quartet/')) return undefined; // bundle: resolved through the workspace link
      return { path: args.path, external: true };
    });
  },
};

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

export async function buildService(name) {
  const entries = SERVICES[name];
  if (!entries) throw new Error(`unknown service "${name}" (known: ${Object.keys(SERVICES).join(', ')})`);
  const serviceDir = join(root, 'services', name);
  if (existsSync(join(serviceDir, 'prisma')) && !existsSync(join(serviceDir, 'src', 'generated', 'prisma'))) {
    throw new Error(`${name}: the Prisma client is not generated; run npm run generate -w @quartet/${name}`);
  }
  const outdir = join(serviceDir, 'dist');
  rmSync(outdir, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: serviceDir,
    entryPoints: Object.entries(entries).map(([out, input]) => ({ in: input, out })),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: join(serviceDir, 'tsconfig.json'),
    sourcemap: 'linked',
    plugins: [externalPackages],
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
  });

  // The externals the bundles import must be production dependencies (see the header).
  const declared = new Set([
    ...Object.keys(readJson(join(serviceDir, 'package.json')).dependencies ?? {}),
    ...Object.keys(readJson(join(root, 'shared', 'common', 'package.json')).dependencies ?? {}),
  ]);
  const missing = new Set();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || builtins.has(imported.path)) continue;
      const pkg = packageName(imported.path);
      if (!declared.has(pkg)) missing.add(pkg);
    }
  }
  if (missing.size) {
    throw new Error(
      `${name}: the bundle imports ${[...missing].join(', ')}, not a production dependency of the service or @quartet/common`,
    );
  }
  const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.mjs'));
  return { name, outdir, outputs };
}

async function main() {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(SERVICES);
  for (const name of names) {
    const started = Date.now();
    const { outputs } = await buildService(name);
    console.log(
      `${name}: ${outputs.map((o) => o.replace(/^.*\/dist\//, 'dist/')).join(', ')} (${Date.now() - started} ms)`,
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(`build failed: ${err.message}`);
    process.exit(1);
  });
}
