// The DPoP and PAR switches against an authorization server without the feature: "not run", with the reason,
// and nothing sent (the full runs against stand-in servers are in test/routes/workshop.test.ts).
import t from 'tap';
import type { LabContext } from '../../../src/workshop/lab/run-context.js';
import { findSwitch } from '../../../src/workshop/lab/switches/index.js';

const untouchable = (overrides: Partial<LabContext>) =>
  new Proxy(overrides as LabContext, {
    get(target, name) {
      if (name in target) return target[name as keyof LabContext];
      throw new Error(`the switch used ctx.${String(name)} although it should not run`);
    },
  });

t.test('DPoP switches do not run without DPoP at the AS; skip-par does not run where PAR is optional', async (t) => {
  const reason = 'no DPoP here';
  for (const id of ['dpop-token-as-bearer', 'dpop-other-key', 'dpop-replayed-proof', 'dpop-refresh-without-key'])
    t.equal(await findSwitch(id)!.run(untouchable({ dpopUnsupported: () => reason })), reason, id);
  t.match(
    await findSwitch('skip-par')!.run(untouchable({ parRequired: () => false })),
    /REQUIRE_PUSHED_AUTHORIZATION_REQUESTS/,
  );
});
