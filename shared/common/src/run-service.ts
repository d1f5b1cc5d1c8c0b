// What every service's src/server.ts does: load config (stop with a message naming the bad variable),
// build the app, listen (a taken port is named, with the variable that changes it), log which backends
// it uses, and close gracefully on SIGINT/SIGTERM:
//  1. draining starts: /readyz answers 503 (see observability.ts), everything else is still served;
//  2. after SHUTDOWN_DELAY_SECONDS (default 0; in Kubernetes a few seconds, the time it takes for the
//     endpoint removal to reach every load balancer, so no new request is sent to a closed port), the app
//     closes: the port stops accepting connections, idle keep-alive connections are closed, in-flight
//     requests finish (their connections close after the response), then the stores close (onClose hooks);
//  3. exit 0. Should closing take longer than SHUTDOWN_TIMEOUT_SECONDS (default 25, under Kubernetes'
//     30 s grace period), the remaining connections are cut and the exit code is 1.
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

/** A whole number of seconds from `env[name]` (default when unset), within 0..max; else ConfigError. */
export function shutdownSeconds(env: NodeJS.ProcessEnv, name: string, fallback: number, max = 300): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > max)
    throw new ConfigError(`${name} must be a whole number of seconds from 0 to ${max} (got "${raw}").`);
  return Number(raw);
}

export async function runService<C, A extends FastifyInstance>(options: RunServiceOptions<C, A>): Promise<A> {
  let config: C;
  let delaySeconds: number;
  let timeoutSeconds: number;
  try {
    config = options.loadConfig();
    delaySeconds = shutdownSeconds(process.env, 'SHUTDOWN_DELAY_SECONDS', 0);
    timeoutSeconds = shutdownSeconds(process.env, 'SHUTDOWN_TIMEOUT_SECONDS', 25);
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
      app.log.info({ signal, delaySeconds }, 'shutting down: draining');
      app.draining?.start();
      const forced = setTimeout(
        () => {
          app.log.error({ timeoutSeconds }, 'shutdown took too long: closing the remaining connections');
          app.server.closeAllConnections();
          process.exit(1);
        },
        (delaySeconds + timeoutSeconds) * 1000,
      );
      setTimeout(() => {
        app.close().then(
          () => {
            clearTimeout(forced);
            app.log.info('shut down');
            process.exit(0);
          },
          (err: unknown) => {
            app.log.error({ err }, 'error during shutdown');
            process.exit(1);
          },
        );
      }, delaySeconds * 1000);
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
