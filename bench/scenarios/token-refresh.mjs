// POST /oauth/token, grant_type=refresh_token (RFC 6749 §6) with rotation (RFC 9700 §4.14.2): one chain per
// connection, each response's refresh token is the one sent next; a reused token would revoke its grant and
// show up as errors.
import { measure, perConnection } from '../lib/load.mjs';
import { form } from '../lib/http.mjs';
import { issueCodes, redeem } from '../lib/oauth.mjs';

export default {
  name: 'token-refresh',
  description: "POST /oauth/token, refresh_token with rotation (each response's token used next)",
  async run({ load, as, oauth, browser }) {
    let badBodies = 0;
    return measure({
      ...load,
      pids: [as.pid],
      async makeTarget() {
        // One rotating chain per connection: every response's refresh token goes back into the pool and
        // is the one sent next (autocannon records a response before it builds the next request).
        const codes = await issueCodes(oauth, browser, load.connections * 2, 16);
        const pool = (await Promise.all(codes.map((c) => redeem(oauth, c)))).map((t) => t.refresh_token);
        let instance;
        let starved = 0;
        const requests = perConnection(
          {
            url: `${as.url}/oauth/token`,
            method: 'POST',
            path: '/oauth/token',
            headers: { authorization: oauth.authorization, 'content-type': 'application/x-www-form-urlencoded' },
          },
          {
            setupRequest(req) {
              const token = pool.shift();
              if (!token) {
                starved++;
                instance?.stop();
              }
              return { ...req, body: form({ grant_type: 'refresh_token', refresh_token: token ?? 'starved' }) };
            },
            onResponse(status, body) {
              if (status !== 200) return;
              try {
                const next = JSON.parse(body).refresh_token;
                if (next) pool.push(next);
                else badBodies++;
              } catch {
                badBodies++;
              }
            },
          },
        );
        return {
          ...requests,
          bind(i) {
            instance = i;
          },
          extraErrors: () => badBodies,
          note: () => (starved ? `${starved} requests found no refresh token` : undefined),
        };
      },
    });
  },
};
