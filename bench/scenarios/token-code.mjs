// POST /oauth/token, grant_type=authorization_code (RFC 6749 §4.1.3) with client_secret_basic (§2.3.1) and
// the PKCE verifier (RFC 7636 §4.5): codes issued through the real GET /authorize for alice (logged in, consent
// remembered), each redeemed once. limit-token-code runs the same load against the limit program.
import { dpopKey } from '../lib/dpop.mjs';
import { measure, perConnection } from '../lib/load.mjs';
import { codeRedemptionBody, issueCodes } from '../lib/oauth.mjs';
import { round } from '../lib/numbers.mjs';

/**
 * Codes issued through the real GET /authorize, each redeemed once at `target` (a running process: Quartet's
 * authorization server, or the limit program, which reads the same code store). With `dpop`, each redemption
 * carries a fresh DPoP proof (RFC 9449 §5) and must be answered token_type DPoP.
 */
export function codeRedemption({ load, oauth, browser, log }, target, { dpop = false } = {}) {
  const { connections, duration, warmup } = load;
  const url = `${target.url}/oauth/token`;
  const key = dpop ? dpopKey() : undefined;
  // 200 answers that are not DPoP-bound: errors (the AS ignored the proof).
  let unbound = 0;
  const warm = { used: 0 };
  return measure({
    ...load,
    pids: [target.pid],
    async makeTarget(phase) {
      unbound = 0;
      // Enough codes for the phase at twice the rate seen in the warm-up (and at least 2500/s); if they run out
      // anyway the run stops early and the rate is taken over the time it ran.
      const warmRate = warmup > 0 ? warm.used / warmup : 0;
      const perSecond = phase === 'warmup' ? 2500 : Math.max(2500, Math.ceil(warmRate * 2));
      const want = Math.ceil((phase === 'warmup' ? warmup : duration) * perSecond) + connections * 2;
      const t0 = performance.now();
      const codes = await issueCodes(oauth, browser, want, 32);
      log(`  ${phase}: ${codes.length} codes issued through /authorize in ${round((performance.now() - t0) / 1000)} s`);
      let used = 0;
      let instance;
      let exhaustedAt = null;
      let placeholders = 0;
      const started = performance.now();
      const requests = perConnection(
        {
          url,
          method: 'POST',
          path: '/oauth/token',
          headers: { authorization: oauth.authorization, 'content-type': 'application/x-www-form-urlencoded' },
        },
        {
          setupRequest(req, context) {
            const issued = codes[used++];
            if (phase === 'warmup') warm.used = used;
            if (codes.length - used < connections && exhaustedAt === null) {
              exhaustedAt = (performance.now() - started) / 1000;
              instance?.stop();
            }
            // Built only while the run winds down after stop(): answered invalid_grant if it is sent at all,
            // and then not counted. One request in flight per connection, so the connection's context says
            // whether the response that comes back is a placeholder's.
            context.placeholder = !issued;
            return {
              ...req,
              ...(key ? { headers: { ...req.headers, dpop: key.proof('POST', url) } } : {}),
              body: codeRedemptionBody(oauth, issued ?? { code: 'exhausted', verifier: 'x'.repeat(43) }),
            };
          },
          onResponse(status, body, context) {
            if (context.placeholder) placeholders++;
            else if (key && status === 200 && !body.includes('"token_type":"DPoP"')) unbound++;
          },
        },
      );
      return {
        ...requests,
        bind(i) {
          instance = i;
        },
        excluded: () => placeholders,
        extraErrors: () => unbound,
        note: () =>
          exhaustedAt !== null
            ? `stopped after ${round(exhaustedAt)} s: the ${codes.length} pre-issued codes were used up`
            : undefined,
      };
    },
  });
}

export default {
  name: 'token-code',
  description:
    'POST /oauth/token, authorization_code: codes from the real GET /authorize, each redeemed once (Basic + PKCE)',
  limit: 'limit-token-code',
  target: { ofLimit: 0.85, p99: 50 },
  profiles: ['authorization-server'],
  run: (ctx) => codeRedemption(ctx, ctx.as),
};
