// Entry point: everything is in runService (config check, listen, graceful shutdown — which closes the
// database, as an embedded PGlite must be); this names what to log. No Redis here: nothing to describe for it.
import { runService } from '@quartet/common';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

await runService({
  name: 'resource-server',
  loadConfig: () => loadConfig(),
  build: buildApp,
  address: (config) => ({ port: config.port, host: config.host }),
  describe: (app, config) => {
    return [
      `database: ${app.database.description}`,
      `authorization server: ${config.authorizationServer} (metadata and keys fetched on first use)`,
      `resource identifier (expected aud): ${config.resourceId}`,
    ];
  },
});
