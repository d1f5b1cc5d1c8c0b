// Entry point: everything is in runService (config check, listen, graceful shutdown — which closes the
// database, as an embedded PGlite must be); this names what to log. Redis (REDIS_URL) holds only the DPoP
// jti replay guard.
import { runService } from '@quartet/common';
import { buildApp } from './app.js';
import { readConfig } from './config.js';

await runService({
  name: 'resource-server',
  loadConfig: () => readConfig(),
  build: buildApp,
  address: (config) => ({ port: config.PORT, host: config.HOST }),
  describe: (app, config) => {
    return [
      `database: ${app.database.description}`,
      `authorization server: ${config.AUTHORIZATION_SERVER} (metadata and keys fetched on first use)`,
      `resource identifier (expected aud): ${config.RESOURCE_ID}`,
      `DPoP proof jti: ${app.dpopReplayStore.description}${config.DPOP_REQUIRED ? '; DPOP_REQUIRED: Bearer tokens refused' : ''}`,
    ];
  },
});
