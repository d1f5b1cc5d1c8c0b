// private_key_jwt (RFC 7523): the verifier of client assertions every client-authenticated endpoint uses (through
// oauth/form-endpoint.ts authenticate): the clients' keys (their jwks, or the set at their jwks_uri, fetched
// through the SSRF guard; loopback http only with a development issuer), and the replay guard of assertion jtis in
// a capped key space of the key-value store (Redis shared by every instance; full: 503 + Retry-After).
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { isProduction, replayGuardFrom } from '@quartet/common';
import { ClientAssertionVerifier } from '../oauth/client-assertion.js';
import { ClientKeySource } from '../oauth/client-keys.js';
import { assertionAlgorithms } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    clientAssertions: ClientAssertionVerifier;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    const { config } = app;
    const keys = new ClientKeySource({ allowLoopbackHttp: !isProduction(config.ISSUER) });
    const replay = replayGuardFrom(app.kv, { name: 'client-assertions', maxEntries: config.MAX_CLIENT_ASSERTIONS });
    app.decorate(
      'clientAssertions',
      new ClientAssertionVerifier(keys, replay, {
        issuer: config.ISSUER,
        maxLifetimeSeconds: config.CLIENT_ASSERTION_MAX_LIFETIME,
        algorithms: assertionAlgorithms(config),
        // FAPI 2.0 Security Profile §5.3.2.1: aud is the issuer, as a string, and nothing else.
        ...(config.PROFILE === 'fapi2' ? { endpointAudience: false, issuerStringAudience: true } : {}),
      }),
    );
  },
  { name: 'client-assertions', dependencies: ['config', 'kv-store'] },
);
