// One bounded load run with autocannon (a warm-up first, discarded), plus the service's memory over it and,
// through `around`, what the backends did meanwhile.
// autocannon is a root devDependency; say so plainly when it is missing rather than ERR_MODULE_NOT_FOUND.
const { default: autocannon } = await import('autocannon').catch((err) => {
  throw new Error(
    `the load generator autocannon is not installed (npm install at the repository root): ${err.message}`,
    { cause: err },
  );
});
import { cpuMeter, sampleRss } from './processes.mjs';

function run(opts) {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ ...opts, pipelining: 1 }, (err, result) => (err ? reject(err) : resolve(result)));
    opts.onInstance?.(instance);
  });
}

/**
 * Runs `target` (autocannon options: url, method, headers, body or requests) for `warmup` then `duration`
 * seconds with `connections` connections. `makeTarget()` is called per phase so per-request state (codes,
 * refresh-token chains) is fresh for the measured phase. `pids` are sampled for peak RSS while it runs.
 * Resolves with the measured phase: requests/s (completed requests / elapsed), latency percentiles (ms),
 * errors (socket errors + timeouts + non-2xx + body mismatches reported by `target.extraErrors()`), and the
 * CPU time each of `pids` spent per completed request (µs): steadier than requests/s when the machine's
 * speed drifts, since it does not count the time a process waited for a core.
 */
export async function measure({ makeTarget, connections, duration, warmup, pids = [], around }) {
  if (warmup > 0) {
    const t = await makeTarget('warmup');
    await run({ ...t, connections, duration: warmup, onInstance: (i) => t.bind?.(i) });
  }
  const t = await makeTarget('measure');
  const before = await around?.before();
  const sampler = sampleRss(pids);
  const cpu = cpuMeter(pids);
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const result = await run({ ...t, connections, duration, onInstance: (i) => t.bind?.(i) });
  const peak = sampler.stop();
  const cpuUse = cpu.stop();
  const window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
  const backendCalls = await around?.after(before, result.requests.total);
  const extra = t.extraErrors?.() ?? 0;
  // Requests the target marks as not part of the measurement (sent after it ran out of input and called
  // stop(); each is answered 4xx): neither counted as completed nor as errors.
  const excluded = t.excluded?.() ?? 0;
  const errors = result.errors + result.timeouts + (result.non2xx - excluded) + result.mismatches + extra;
  const total = result.requests.total - excluded;
  return {
    requests: total,
    durationS: result.duration,
    rps: total / result.duration,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
    },
    errors,
    errorDetail: {
      socket: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx - excluded,
      mismatches: result.mismatches,
      extra,
      excluded,
    },
    peakRssMB: peak,
    cpuUsPerRequest: cpuUse.perRequest(total),
    note: t.note?.(),
    window,
    backendCalls,
  };
}

/**
 * autocannon shares its request objects between connections (the first request of every connection is built
 * from one object), so per-request bodies would collide: each connection gets its own copy in setupClient.
 */
export function perConnection(template, { setupRequest, onResponse }) {
  return {
    ...template,
    requests: [{ method: template.method, path: template.path ?? '/' }],
    setupClient(client) {
      client.requestIterator.setRequests([
        { method: template.method, path: template.path ?? '/', headers: template.headers, setupRequest, onResponse },
      ]);
    },
  };
}
