// The whole flow for one returning user with remembered consent, as a client app runs it:
//   GET /authorize (login session cookie → 303 with code) → POST /oauth/token (Basic auth, code, PKCE
//   verifier) → GET /photos/:id at the resource server with the new access token. The first leg is alice's
//   browser (a UserAgent with her login session), the other two the client's own calls.
// `workers` flows run concurrently for `durationS` seconds; a flow counts when all three legs succeeded.
import { authorizeOnce, redeem } from './oauth.mjs';
import { request } from './http.mjs';
import { cpuMeter, sampleRss } from './processes.mjs';

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function oneFlow(ctx, browser, photoUrl) {
  const issued = await authorizeOnce(ctx, browser);
  const token = await redeem(ctx, issued);
  const res = await request(photoUrl, { headers: { authorization: `Bearer ${token.access_token}` } });
  if (res.status !== 200) throw new Error(`API call: ${res.status} ${res.body}`);
}

async function drive(ctx, browser, photoUrl, workers, durationS) {
  const latencies = [];
  let errors = 0;
  let firstError;
  const started = performance.now();
  const deadline = started + durationS * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await oneFlow(ctx, browser, photoUrl);
        latencies.push(performance.now() - t0);
      } catch (err) {
        errors++;
        firstError ??= err.message;
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { latencies, errors, firstError, elapsed };
}

export async function measureFlows({ ctx, browser, photoUrl, workers, duration, warmup, pids, around }) {
  if (warmup > 0) await drive(ctx, browser, photoUrl, workers, warmup);
  const before = await around?.before();
  const sampler = sampleRss(pids);
  const cpu = cpuMeter(pids);
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const { latencies, errors, firstError, elapsed } = await drive(ctx, browser, photoUrl, workers, duration);
  const peak = sampler.stop();
  const cpuUsPerRequest = cpu.stop().perRequest(latencies.length);
  const window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
  const backendCalls = await around?.after(before, latencies.length);
  const mean = latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1);
  return {
    requests: latencies.length,
    durationS: elapsed,
    rps: latencies.length / elapsed,
    latencyMs: {
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? NaN,
      mean,
    },
    errors,
    errorDetail: errors ? { firstError } : {},
    peakRssMB: peak,
    cpuUsPerRequest,
    window,
    backendCalls,
  };
}
