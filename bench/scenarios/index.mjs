// The benchmark's scenarios, listed once, in the order they run (docs/benchmarks.md says what each measures).
// Each file exports { name, description, run(ctx) } and, where they apply:
//   needs      the yardstick processes it measures ('baseline', 'limit'), started only when a chosen scenario
//              needs them (Quartet's authorization and resource servers run for every load scenario)
//   limit      the limit program's scenario doing the same work: the × limit column and, with target.ofLimit,
//              the verdict
//   bearer     for a DPoP variant, the Bearer scenario doing the same work: the × bearer column (its rate and
//              its measured process's CPU µs/request over the Bearer run's, in the same repetition)
//   target     its verdict: { rps } (at least that many per second) or { ofLimit } (at least that share of
//              the limit scenario's rate in the same run), and { p99 } (ms, below)
//   profiles   under --profile, the process whose CPU profile is summarised over this scenario's measured phase
//   unit       what one completed request is, when it is not one HTTP request ('flows/s')
//   standalone runs before the load scenarios, with processes of its own, and not under --profile (startup)
// run(ctx) of a load scenario resolves with the result of lib/load.mjs's measure() or of the flow driver; ctx
// is { options, load: { connections, duration, warmup, around }, as, rs, baseline, limit (running processes:
// url, pid), oauth (lib/oauth.mjs clientContext), browser (alice's logged-in UserAgent), log }. A standalone
// scenario's ctx is { options, startService(bundle), running (processes to stop on failure), log }.
import baseline from './baseline.mjs';
import tokenCode from './token-code.mjs';
import tokenCodeDpop from './token-code-dpop.mjs';
import limitTokenCode from './limit-token-code.mjs';
import tokenRefresh from './token-refresh.mjs';
import tokenClientCredentials from './token-client-credentials.mjs';
import resourceRead from './resource-read.mjs';
import resourceReadDpop from './resource-read-dpop.mjs';
import limitResourceRead from './limit-resource-read.mjs';
import flow from './flow.mjs';
import startup from './startup.mjs';

export const SCENARIOS = [
  baseline,
  tokenCode,
  tokenCodeDpop,
  limitTokenCode,
  tokenRefresh,
  tokenClientCredentials,
  resourceRead,
  resourceReadDpop,
  limitResourceRead,
  flow,
  startup,
];

/** The scenario named `name`. */
export const scenario = (name) => SCENARIOS.find((s) => s.name === name);
