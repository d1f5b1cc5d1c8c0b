// Entry point: everything is in runService (config check, listen, graceful shutdown); this names what to log.
import { runService } from '@quartet/common';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

await runService({
  name: 'resource-server',
  loadConfig: () => loadConfig(),
  build: buildApp,
  address: (config) => ({ port: config.port, host: config.host }),
  describe: (_app, config) => {
    const db = new URL(config.databaseUrl);
    return [
      `database: PostgreSQL at ${db.hostname}:${db.port || 5432}${db.pathname}`,
      `authorization server: ${config.authorizationServer} (metadata and keys fetched on first use)`,
      `resource identifier (expected aud): ${config.resourceId}`,
    ];
  },
});
