// GET /photos/:id at the resource server with a valid access token (RFC 6750 §2.1): the token's verification
// (RFC 9068 §4, JWKS cached) and the database read. limit-resource-read runs it against the limit program.
import { measure } from '../lib/load.mjs';
import { issueCodes, redeem } from '../lib/oauth.mjs';

/** One of alice's seeded photos. */
export const PHOTO_PATH = '/photos/5eed0001-0000-4000-8000-000000000001';

/** Reads of one photo at `target` (the resource server, or the limit program), with a fresh token per phase. */
export function photoRead({ load, oauth, browser }, target) {
  return measure({
    ...load,
    pids: [target.pid],
    async makeTarget() {
      // A fresh token per phase (ACCESS_TOKEN_TTL is 300 s by default), issued by Quartet's authorization server.
      const [issued] = await issueCodes(oauth, browser, 1, 1);
      const token = await redeem(oauth, issued);
      return { url: `${target.url}${PHOTO_PATH}`, headers: { authorization: `Bearer ${token.access_token}` } };
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
