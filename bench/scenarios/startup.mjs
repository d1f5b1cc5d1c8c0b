// Start-up of each bundled service: spawn → first 200 from /readyz, then RSS and where the memory is after
// 2 s idle; `--startup-repeat` start-ups, median. It runs before the load scenarios, with processes of its own.
import { median, round } from '../lib/numbers.mjs';

/** The bundles in dependency order, as a deployment starts them: the RS and the client app discover the AS. */
const ORDER = ['authorization-server', 'resource-server', 'client-app'];

export default {
  name: 'startup',
  description: 'spawn → first 200 from /readyz per service, and RSS at idle',
  standalone: true,
  async run({ options, startService, running }) {
    const rows = Object.fromEntries(ORDER.map((s) => [s, []]));
    for (let i = 0; i < options.startupRepeat; i++) {
      const started = [];
      for (const service of ORDER) {
        const p = await startService(service);
        running.push(p);
        started.push(p);
      }
      await new Promise((r) => setTimeout(r, 2000)); // idle: let start-up garbage settle
      for (const p of started)
        rows[p.name].push({
          startupMs: p.startupMs,
          idleRssMB: p.memory().rssMB,
          breakdown: await p.memoryBreakdown(),
        });
      for (const p of started.reverse()) {
        await p.stop();
        running.splice(running.indexOf(p), 1);
      }
    }
    return Object.fromEntries(
      Object.entries(rows).map(([name, rs]) => [
        name,
        {
          startupMs: round(median(rs.map((r) => r.startupMs)), 0),
          idleRssMB: round(median(rs.map((r) => r.idleRssMB))),
          idleMemory: rs.at(-1)?.breakdown,
          runs: rs.map((r) => ({ startupMs: round(r.startupMs, 0), idleRssMB: round(r.idleRssMB) })),
        },
      ]),
    );
  },
};
