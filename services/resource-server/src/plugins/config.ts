// The configuration (src/config.ts) as `app.config`: the one way settings reach plugins and routes, which
// read it there and declare `dependencies: ['config']` instead of taking settings as plugin options.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
  }
}

async function config(app: FastifyInstance, options: { config: Config }): Promise<void> {
  app.decorate('config', options.config);
}

export default fp(config, { name: 'config' });
