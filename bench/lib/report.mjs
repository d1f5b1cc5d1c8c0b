// What a run reports: the medians over its repetitions, the verdicts against the targets, and the tables
// printed at the end (the JSON file holds all of it and every repetition).
import { median, round } from './numbers.mjs';

/** Peak RSS per service (VmHWM over the whole run), for every service under test. */
export const MAX_RSS_MB = 200;

/**
 * Each load scenario's medians over `repetitions` ([{ scenario: result }]); a ratio (× baseline, × limit) is
 * taken within each repetition, then its median. `nameOf(pid)` names a measured process; `limitOf(name)` is
 * the limit program's scenario doing the same work as `name`, if any; `bearerOf(name)` the Bearer scenario a
 * DPoP variant is compared with (ofBearer: rate over its rate; cpuOfBearer: CPU µs/request over its, per
 * process both measured).
 */
export function aggregate(repetitions, { nameOf, limitOf, bearerOf = () => undefined }) {
  const scenarios = {};
  for (const name of Object.keys(repetitions[0])) {
    const reps = repetitions.map((r) => r[name]);
    const ratioTo = (other) =>
      other && repetitions[0][other] && name !== other
        ? median(repetitions.map((r) => r[name].rps / r[other].rps))
        : undefined;
    scenarios[name] = {
      rps: median(reps.map((r) => r.rps)),
      latencyMs: { p50: median(reps.map((r) => r.latencyMs.p50)), p99: median(reps.map((r) => r.latencyMs.p99)) },
      errors: reps.reduce((a, r) => a + r.errors, 0),
      peakRssMB: Object.fromEntries(
        Object.keys(reps[0].peakRssMB).map((pid) => [nameOf(pid), Math.max(...reps.map((r) => r.peakRssMB[pid]))]),
      ),
      cpuUsPerRequest: Object.fromEntries(
        Object.keys(reps[0].cpuUsPerRequest ?? {}).map((pid) => [
          nameOf(pid),
          median(reps.map((r) => r.cpuUsPerRequest[pid])),
        ]),
      ),
      ratio: ratioTo('baseline'),
      ofLimit: ratioTo(limitOf(name)),
      ofBearer: ratioTo(bearerOf(name)),
      cpuOfBearer: cpuRatioTo(repetitions, name, bearerOf(name), nameOf),
      backendCallsPerRequest: reps.at(-1).backendCalls,
      notes: reps.map((r) => r.note).filter(Boolean),
    };
  }
  return scenarios;
}

/** Per process measured by both: the median over repetitions of `name`'s CPU µs/request over `other`'s. */
function cpuRatioTo(repetitions, name, other, nameOf) {
  if (!other || !repetitions[0][other]) return undefined;
  const pids = Object.keys(repetitions[0][name].cpuUsPerRequest ?? {}).filter(
    (pid) => repetitions[0][other].cpuUsPerRequest?.[pid] !== undefined,
  );
  return Object.fromEntries(
    pids.map((pid) => [
      nameOf(pid),
      median(repetitions.map((r) => r[name].cpuUsPerRequest[pid] / r[other].cpuUsPerRequest[pid])),
    ]),
  );
}

/**
 * One verdict per scenario with a target that ran, and one per service's peak RSS: { scenario, ok, detail },
 * ok null when it could not be judged (a ratio to a limit scenario that did not run). Zero errors is part of
 * every scenario's verdict.
 */
export function verdicts(summary, scenarios, services) {
  const lines = [];
  for (const s of scenarios) {
    const r = summary.scenarios[s.name];
    if (!s.target || !r) continue;
    const t = s.target;
    const checks = [];
    let ok = true;
    if (t.rps !== undefined) {
      checks.push(`${round(r.rps, 0)} ${s.unit ?? 'req/s'} ${r.rps >= t.rps ? '≥' : '<'} ${t.rps}`);
      ok &&= r.rps >= t.rps;
    }
    if (t.ofLimit !== undefined) {
      const limit = summary.scenarios[s.limit];
      if (r.ofLimit === undefined || !limit) {
        checks.push(`${round(r.rps, 0)} req/s, × limit not measured (run ${s.limit} with it)`);
        ok = null;
      } else {
        checks.push(
          `${round(r.ofLimit, 2)} × limit ${r.ofLimit >= t.ofLimit ? '≥' : '<'} ${t.ofLimit} (${round(r.rps, 0)} of the limit program's ${round(limit.rps, 0)} req/s)`,
        );
        ok &&= r.ofLimit >= t.ofLimit;
      }
    }
    if (t.p99 !== undefined) {
      checks.push(`p99 ${r.latencyMs.p99} ms ${r.latencyMs.p99 < t.p99 ? '<' : '≥'} ${t.p99}`);
      if (ok !== null) ok &&= r.latencyMs.p99 < t.p99;
    }
    if (ok !== null) ok &&= r.errors === 0;
    lines.push({ scenario: s.name, ok, detail: `${checks.join(', ')}, errors ${r.errors}` });
  }
  for (const [name, mb] of Object.entries(summary.peakRssMB)) {
    if (!services.includes(name)) continue; // the yardsticks are not under test
    lines.push({
      scenario: `peak RSS ${name}`,
      ok: mb < MAX_RSS_MB,
      detail: `${round(mb)} MB ${mb < MAX_RSS_MB ? '<' : '≥'} ${MAX_RSS_MB} MB`,
    });
  }
  return lines;
}

/** The results as Markdown tables. */
export function table(summary, scenarios) {
  const unitOf = Object.fromEntries(scenarios.map((s) => [s.name, s.unit]));
  const head = [
    'scenario',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'peak RSS MB',
    'CPU µs/request',
    '× baseline',
    '× limit',
    '× bearer (rate / CPU)',
  ];
  const rows = Object.entries(summary.scenarios).map(([name, r]) => [
    name + (unitOf[name] ? ` (${unitOf[name]})` : ''),
    round(r.rps, 0),
    round(r.latencyMs.p50, 1),
    round(r.latencyMs.p99, 1),
    r.errors,
    Object.values(r.peakRssMB)
      .map((v) => round(v, 0))
      .join(' / '),
    Object.values(r.cpuUsPerRequest ?? {}).join(' / '),
    r.ratio === undefined ? '' : round(r.ratio, 3),
    r.ofLimit === undefined ? '' : round(r.ofLimit, 2),
    r.ofBearer === undefined
      ? ''
      : `${round(r.ofBearer, 2)} / ${Object.values(r.cpuOfBearer ?? {})
          .map((v) => round(v, 2))
          .join(' / ')}`,
  ]);
  // Cells go into the row as written (a template string), so an absent value reads as it always has.
  const markdownTable = (header, cells) => [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...cells.map((r) => `| ${r.join(' | ')} |`),
  ];
  const md = markdownTable(head, rows);
  const calls = Object.entries(summary.scenarios).filter(([, r]) => r.backendCallsPerRequest);
  if (calls.length) {
    const header = [
      'per completed request',
      'PostgreSQL transactions (auth / resource)',
      'rows written (auth / resource)',
      'Redis commands',
    ];
    md.push(
      '',
      ...markdownTable(
        header,
        calls.map(([name, { backendCallsPerRequest: c }]) => [
          name,
          `${c.pgTransactions_auth} / ${c.pgTransactions_resource}`,
          `${c.pgRowsWritten_auth} / ${c.pgRowsWritten_resource}`,
          `${c.redisCommands}`,
        ]),
      ),
    );
  }
  if (summary.startup) {
    const header = ['service', 'start-up ms (spawn → /readyz 200)', 'RSS at idle MB'];
    const cells = Object.entries(summary.startup).map(([name, s]) => [name, `${s.startupMs}`, `${s.idleRssMB}`]);
    md.push('', ...markdownTable(header, cells));
  }
  const mem = [
    ...Object.entries(summary.startup ?? {}).map(([name, s]) => [`${name}, idle`, s.idleMemory]),
    ...Object.entries(summary.memoryAfterLoad ?? {}).map(([name, m]) => [`${name}, after the load`, m]),
  ].filter(([, m]) => m);
  if (mem.length) {
    const header = [
      'where the memory is (MB)',
      'RSS',
      'V8 heap total / used',
      'external',
      'of which ArrayBuffers',
      'code space',
    ];
    const cells = mem.map(([label, m]) => [
      label,
      `${m.usageMB.rss}`,
      `${m.usageMB.heapTotal} / ${m.usageMB.heapUsed}`,
      `${m.usageMB.external}`,
      `${m.usageMB.arrayBuffers}`,
      `${m.heapSpacesUsedMB.code_space ?? ''}`,
    ]);
    md.push('', ...markdownTable(header, cells));
  }
  return md.join('\n');
}

const LABEL = { true: 'PASS', false: 'MISS', null: 'SKIP' };

/** The report on stdout: header, tables, verdicts, where the JSON is. */
export function print({ summary, scenarios, options, file }) {
  console.log(
    `\nQuartet benchmark — ${summary.date} — ${summary.machine.nproc} CPUs (${summary.machine.cpuModel}), ${summary.machine.memoryGB} GB, node ${summary.machine.node}`,
  );
  console.log(
    `${options.connections} connections, ${options.warmup} s warm-up + ${options.duration} s per scenario, ${options.repeat} repetition(s)${options.profile ? ', PROFILED (--cpu-prof: slower than normal)' : ''}\n`,
  );
  console.log(table(summary, scenarios));
  if (summary.verdicts.length) {
    console.log('\nTargets:');
    for (const c of summary.verdicts) console.log(`  ${LABEL[c.ok]}  ${c.scenario}: ${c.detail}`);
    if (summary.verdicts.some((c) => /× limit/.test(c.detail))) {
      console.log(
        '× limit: the rate over that of the limit program (bench/limit-server.mjs) doing the same work in this run,',
      );
      console.log('which stands for what this machine can do; the other rates are absolute (docs/benchmarks.md).');
    }
  }
  const dpop = Object.entries(summary.scenarios).filter(([, r]) => r.ofBearer !== undefined);
  if (dpop.length) {
    console.log('\nDPoP cost (each against its Bearer scenario in this run):');
    for (const [name, r] of dpop) {
      const cpu = Object.entries(r.cpuOfBearer ?? {})
        .map(([p, v]) => `${p} ${round(v, 2)}`)
        .join(', ');
      console.log(`  ${name}: ${round(r.ofBearer, 2)} × the Bearer rate; CPU µs/request × ${cpu || 'not measured'}`);
    }
  }
  console.log(`\nJSON: ${file}`);
}
