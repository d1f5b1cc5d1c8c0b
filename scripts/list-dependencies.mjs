#!/usr/bin/env node
// Lists the packages installed in the given node_modules folders (nested ones included), one line each:
// "name version license", sorted. The images run it on their production dependencies and keep the list at
// /app/dependencies.txt, so an operator can see what an image contains without unpacking it:
//   docker run --rm quartet/authorization-server:local cat /app/dependencies.txt
// (npm ls would need the lockfile and the workspace manifests, which the runtime image leaves out.)
//
// Usage: node scripts/list-dependencies.mjs <node_modules> [<node_modules> ...]
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const found = new Set();

function visit(folder) {
  if (!existsSync(folder)) return;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    if (entry.name.startsWith('@') && entry.isDirectory()) {
      visit(path);
      continue;
    }
    const manifest = join(path, 'package.json');
    if (!existsSync(manifest)) continue;
    const { name, version, license } = JSON.parse(readFileSync(manifest, 'utf8'));
    if (name && version) found.add(`${name} ${version} ${typeof license === 'string' ? license : 'see-package'}`);
    visit(join(path, 'node_modules'));
  }
}

const folders = process.argv.slice(2);
if (folders.length === 0) {
  console.error('usage: node scripts/list-dependencies.mjs <node_modules> [...]');
  process.exit(2);
}
for (const folder of folders) visit(folder);
process.stdout.write([...found].sort().join('\n') + '\n');
