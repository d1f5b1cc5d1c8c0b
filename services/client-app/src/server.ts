// Entry point: everything is in runService (config check, listen, graceful shutdown); this names what to log.
import { runService } from '@quartet/common';
import { buildApp } from './app.js';
import { readConfig, redirectUri } from './config.js';

await runService({
  name: 'client-app',
  loadConfig: readConfig,
  build: buildApp,
  address: (config) => ({ port: config.PORT, host: config.HOST }),
  describe: (app, config) => [
    `session store: ${app.kv.description}`,
    `authorization server: ${config.AUTHORIZATION_SERVER} (metadata discovered on first use), client_id ${config.CLIENT_ID}, redirect URI ${redirectUri(config)}`,
    `resource server: ${config.RESOURCE_SERVER}`,
  ],
});
