// The whole flow for a returning user with remembered consent, as a client app runs it: GET /authorize in
// alice's browser → code → POST /oauth/token → one API call; completed flows per second (lib/flow-driver.mjs).
import { measureFlows } from '../lib/flow-driver.mjs';
import { PHOTO_PATH } from './resource-read.mjs';

export default {
  name: 'flow',
  description: 'authorize → code → token → one API call, completed flows per second',
  unit: 'flows/s',
  target: { rps: 300 },
  run: ({ load, options, as, rs, oauth, browser }) =>
    measureFlows({
      ctx: oauth,
      browser,
      photoUrl: `${rs.url}${PHOTO_PATH}`,
      workers: options.flowWorkers,
      duration: load.duration,
      warmup: load.warmup,
      pids: [as.pid, rs.pid],
      around: load.around,
    }),
};
