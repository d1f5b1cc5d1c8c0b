// The machine's yardstick: GET /baseline of a bare Fastify app (bench/baseline-server.mjs, the same Fastify
// the services use) in its own process. Every other scenario's rate is divided by it (× baseline).
import { measure } from '../lib/load.mjs';

export default {
  name: 'baseline',
  description: "a bare Fastify route (same Fastify) in its own process: the machine's yardstick",
  needs: ['baseline'],
  run: ({ load, baseline }) =>
    measure({
      ...load,
      around: undefined, // not Quartet's backends: nothing to count
      pids: [baseline.pid],
      makeTarget: () => ({ url: `${baseline.url}/baseline` }),
    }),
};
