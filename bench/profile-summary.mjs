#!/usr/bin/env node
// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time by function, inclusive
// (total) time by function, and self time by package. Frames inside the services' esbuild bundles
// (dist/*.mjs) are mapped back to their TypeScript source through the bundle's linked source map.
//
// Usage: node bench/profile-summary.mjs <file.cpuprofile> [--top=N] [--from=µs --to=µs] [--callers=NAME]
//   --from/--to keep only samples in that window of the monotonic clock (process.hrtime in µs, the clock
//   V8 stamps profiles with), e.g. the measured phase of one scenario; `npm run bench -- --profile` passes
//   the window of each profiled scenario itself. --callers=NAME adds where the self time of the frames whose
//   name contains NAME comes from (their nearest non-internal callers).
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(import.meta.dirname, '..');
const maps = new Map();

/** The source map of a bundle next to it (dist/server.mjs.map), or null. */
function sourceMapFor(url) {
  if (maps.has(url)) return maps.get(url);
  let map = null;
  try {
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (/\/dist\/[^/]+\.mjs$/.test(file) && existsSync(`${file}.map`))
      map = { map: new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))), dir: dirname(file) };
  } catch {
    map = null;
  }
  maps.set(url, map);
  return map;
}

/** `file:line` of a frame, in the original source when the frame is in a bundle. */
function location(frame) {
  const { url, lineNumber, columnNumber } = frame;
  if (!url) return '';
  const m = sourceMapFor(url);
  if (m) {
    const entry = m.map.findEntry(lineNumber, columnNumber);
    if (entry?.originalSource) {
      const original = entry.originalSource.startsWith('file://')
        ? fileURLToPath(entry.originalSource)
        : join(m.dir, entry.originalSource);
      return `${relative(repoRoot, original)}:${entry.originalLine + 1}`;
    }
  }
  const path = url.startsWith('file://') ? relative(repoRoot, fileURLToPath(url)) : url;
  return `${path}:${lineNumber + 1}`;
}

/** Which package a frame belongs to: an npm package, node's internals, our code, or a V8 pseudo-frame. */
function packageOf(frame, loc) {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node: (internals)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(loc) ?? /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (/^services\/([^/]+)\/src\/generated\//.test(loc)) return `generated Prisma client (${loc.split('/')[1]})`;
  if (/^services\/[^/]+\/src\//.test(loc)) return `quartet ${loc.split('/')[1]}`;
  if (loc.startsWith('shared/')) return `@quartet/${loc.split('/')[1]}`;
  return loc.split(':')[0];
}

export function summarizeProfile(file, { window, callersOf } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = new Map();
  const pkgOf = new Map();
  for (const n of profile.nodes) {
    const loc = location(n.callFrame);
    keyOf.set(n.id, `${n.callFrame.functionName || '(anonymous)'}${loc ? ` ${loc}` : ''}`);
    pkgOf.set(n.id, packageOf(n.callFrame, loc));
  }

  // Sample i lasts until sample i+1 (the way Chrome DevTools attributes time).
  const { samples, timeDeltas } = profile;
  const stamps = new Array(samples.length);
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) stamps[i] = t += timeDeltas[i];
  let from = window?.fromUs ?? -Infinity;
  let to = window?.toUs ?? Infinity;
  let windowed = Boolean(window);
  if (window && !stamps.some((s) => s >= from && s <= to)) {
    // Clocks did not line up (another platform): fall back to the whole profile, and say so.
    from = -Infinity;
    to = Infinity;
    windowed = false;
  }
  const self = new Map();
  const total = new Map();
  const packages = new Map();
  const callers = new Map();
  let sum = 0;
  let idle = 0;
  for (let i = 0; i < samples.length; i++) {
    if (stamps[i] < from || stamps[i] > to) continue;
    const dur = (i + 1 < samples.length ? timeDeltas[i + 1] : 0) / 1000; // ms
    const id = samples[i];
    const key = keyOf.get(id);
    if (key.startsWith('(idle)')) {
      idle += dur;
      continue;
    }
    sum += dur;
    self.set(key, (self.get(key) ?? 0) + dur);
    packages.set(pkgOf.get(id), (packages.get(pkgOf.get(id)) ?? 0) + dur);
    if (callersOf && key.includes(callersOf)) {
      // Drill-down: the nearest frames of our own code or of a package above this one.
      const chain = [];
      for (let n = parent.get(id); n !== undefined && chain.length < 6; n = parent.get(n)) {
        const k = keyOf.get(n);
        if (!k.includes('node:') && !k.startsWith('(')) chain.push(k);
      }
      const c = chain.join('  <  ') || '(no JS caller)';
      callers.set(c, (callers.get(c) ?? 0) + dur);
    }
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const k = keyOf.get(n);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dur);
    }
  }
  const top = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: Math.round((ms / sum) * 1000) / 10 }));
  return {
    windowed,
    busyMs: Math.round(sum),
    idleMs: Math.round(idle),
    self: top(self).slice(0, 60),
    total: top(total)
      .filter((r) => !r.name.startsWith('(root)'))
      .slice(0, 60),
    packages: top(packages).slice(0, 30),
    ...(callersOf ? { callers: top(callers).slice(0, 20) } : {}),
  };
}

export function formatSummary(s, n = 25) {
  const rows = (list) =>
    list
      .slice(0, n)
      .map((r) => `  ${String(r.pct).padStart(5)}%  ${String(r.ms).padStart(6)} ms  ${r.name}`)
      .join('\n');
  return [
    `busy ${s.busyMs} ms, idle ${s.idleMs} ms${s.windowed ? ' (measured phase only)' : ' (whole profile)'}; percentages are of busy time`,
    `self time by package:\n${rows(s.packages)}`,
    `self time by function:\n${rows(s.self)}`,
    `total (inclusive) time by function:\n${rows(s.total)}`,
    ...(s.callers ? [`callers of the matching frames (nearest first):\n${rows(s.callers)}`] : []),
  ].join('\n\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top=N] [--from=µs --to=µs]');
    process.exit(2);
  }
  const flag = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const window =
    flag('from') || flag('to')
      ? { fromUs: Number(flag('from') ?? -Infinity), toUs: Number(flag('to') ?? Infinity) }
      : undefined;
  console.log(formatSummary(summarizeProfile(file, { window, callersOf: flag('callers') }), Number(flag('top') ?? 25)));
}
