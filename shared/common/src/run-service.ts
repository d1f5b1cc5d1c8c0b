// What every service's src/server.ts does: load config (stop with a message naming the bad variable),
// build the app, listen (a taken port is named, with the variable that changes it), log which backends
// it uses, and close gracefully on SIGINT/SIGTERM so in-flight requests finish and stores are closed.
import type { FastifyInstance } from 'fastify';
import { ConfigError } from './config.js';

export interface RunServiceOptions<C, A extends FastifyInstance> {
  /** Service name for messages, e.g. "authorization-server". */
  name: string;
  loadConfig: () => C;
  build: (config: C) => Promise<A>;
  address: (config: C) => { port: number; host: string };
  /** Lines logged once listening: which backends, issuer, identifiers. */
  describe?: (app: A, config: C) => string[];
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

export async function runService<C, A extends FastifyInstance>(options: RunServiceOptions<C, A>): Promise<A> {
  let config: C;
  try {
    config = options.loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(`${options.name}: ${err.message}`);
    throw err;
  }

  let app: A;
  try {
    app = await options.build(config);
  } catch (err) {
    // E.g. a store unreachable at start, or signing keys the configured secret cannot decrypt.
    fail(`${options.name} failed to start: ${(err as Error).message}`);
  }

  let closing = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (closing) return;
      closing = true;
      app.log.info({ signal }, 'shutting down');
      app.close().then(
        () => process.exit(0),
        (err: unknown) => {
          app.log.error({ err }, 'error during shutdown');
          process.exit(1);
        },
      );
    });
  }

  const { port, host } = options.address(config);
  try {
    await app.listen({ port, host });
  } catch (err) {
    await app.close().catch(() => {});
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      fail(`${options.name}: port ${port} on ${host} is already in use; set PORT to another port.`);
    }
    fail(`${options.name} could not listen on ${host}:${port}: ${(err as Error).message}`);
  }
  for (const line of options.describe?.(app, config) ?? []) app.log.info(line);
  return app;
}
