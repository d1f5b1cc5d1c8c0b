// Counts test cases from the TAP files tap saves in each workspace's .tap/test-results, so CI can print
// one honest "N passed, N failed" line across every workspace (tap's own summary is per workspace).
// A test case is a top-level `ok`/`not ok` line of a test file (one t.test()); `# SKIP` lines count as skipped.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const roots = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
// The failing cases by file, so CI can print them again beside its last line (its log is often read from the end).
const failures = [];

async function* tapFiles(dir) {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tapFiles(p);
    // Only test files: a helper module that tap was told to run would report no cases.
    else if (/\.test\.[cm]?[jt]s\.tap$/.test(e.name)) yield p;
  }
}

for (const root of roots) {
  for await (const file of tapFiles(join(root, '.tap', 'test-results'))) {
    const text = await readFile(file, 'utf8');
    let fileCases = 0;
    let fileFailed = false;
    for (const line of text.split('\n')) {
      const m = /^(not ok|ok) \d+/.exec(line);
      if (!m) continue;
      fileCases++;
      if (/# SKIP/i.test(line)) skipped++;
      else if (m[1] === 'ok') passed++;
      else {
        failed++;
        fileFailed = true;
        failures.push(`${file}: ${line.trim()}`);
      }
    }
    // A file that crashed before reporting any test case still failed.
    if (fileCases === 0 && !/^1\.\.0/m.test(text)) {
      failed++;
      fileFailed = true;
      failures.push(`${file}: no test case reported (the file crashed)`);
    }
    if (fileFailed) {
      console.error(`failed: ${file}`);
      // The failing assertions inside the cases, a few of them: what a reader needs to start looking.
      const inner = text.split('\n').filter((l) => /^\s+not ok \d+/.test(l));
      for (const l of inner.slice(0, 5)) failures.push(`${file}:   ${l.trim()}`);
    }
  }
}
console.log(JSON.stringify({ passed, failed, skipped, failures }));
