// POST /oauth/token, grant_type=client_credentials (RFC 6749 §4.4) with Basic client authentication.
import { measure } from '../lib/load.mjs';
import { form } from '../lib/http.mjs';

export default {
  name: 'token-client-credentials',
  description: 'POST /oauth/token, client_credentials',
  target: { rps: 2000 },
  run: ({ load, as, oauth }) =>
    measure({
      ...load,
      pids: [as.pid],
      makeTarget: () => ({
        url: `${as.url}/oauth/token`,
        method: 'POST',
        headers: { authorization: oauth.authorization, 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ grant_type: 'client_credentials', scope: 'photos:read' }),
      }),
    }),
};
