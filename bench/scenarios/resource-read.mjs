// GET /photos/:id at the resource server with a valid access token (RFC 6750 §2.1): the token's verification
// (RFC 9068 §4, JWKS cached) and the database read. limit-resource-read runs it against the limit program.
import { dpopKey, requireDpopToken } from '../lib/dpop.mjs';
import { measure, perConnection } from '../lib/load.mjs';
import { issueCodes, redeem } from '../lib/oauth.mjs';

/** One of alice's seeded photos. */
export const PHOTO_PATH = '/photos/5eed0001-0000-4000-8000-000000000001';

/**
 * Reads of one photo at `target` (the resource server, or the limit program), with a fresh token per phase.
 * With `dpop`, the token is DPoP-bound (redeemed with a proof) and every read is `Authorization: DPoP` with
 * a fresh proof of its own (RFC 9449 §7.1: htm GET, htu the photo's URL — the RS's RESOURCE_ID is its URL
 * here — and ath of the token).
 */
export function photoRead({ load, oauth, browser }, target, { dpop = false } = {}) {
  const key = dpop ? dpopKey() : undefined;
  return measure({
    ...load,
    pids: [target.pid],
    async makeTarget() {
      // A fresh token per phase (ACCESS_TOKEN_TTL is 300 s by default), issued by Quartet's authorization server.
      const [issued] = await issueCodes(oauth, browser, 1, 1);
      const url = `${target.url}${PHOTO_PATH}`;
      if (!key) {
        const token = await redeem(oauth, issued);
        return { url, headers: { authorization: `Bearer ${token.access_token}` } };
      }
      const token = requireDpopToken(await redeem(oauth, issued, key)).access_token;
      return perConnection(
        { url, method: 'GET', path: PHOTO_PATH, headers: { authorization: `DPoP ${token}` } },
        { setupRequest: (req) => ({ ...req, headers: { ...req.headers, dpop: key.proof('GET', url, token) } }) },
      );
    },
  });
}

export default {
  name: 'resource-read',
  description: 'GET /photos/:id at the resource server with a valid token',
  limit: 'limit-resource-read',
  target: { ofLimit: 0.85, p99: 50 },
  profiles: ['resource-server'],
  run: (ctx) => photoRead(ctx, ctx.rs),
};
