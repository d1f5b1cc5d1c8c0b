// Entry point: everything is in runService (config check, listen, graceful shutdown); this names what to log.
import { runService } from '@quartet/common';
import { buildApp } from './app.js';
import { readConfig } from './config.js';

await runService({
  name: 'authorization-server',
  loadConfig: readConfig,
  build: buildApp,
  address: (config) => ({ port: config.PORT, host: config.HOST }),
  describe: (app, config) => {
    return [
      `issuer ${config.ISSUER}`,
      `database: ${app.database.description}`,
      `codes and sessions: ${app.kv.description}`,
      `signing keys loaded: ${app.keys
        .jwks()
        .keys.map((k) => k.kid)
        .join(', ')}`,
    ];
  },
});
