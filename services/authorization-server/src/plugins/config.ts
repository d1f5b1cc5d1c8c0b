// Makes the checked configuration available to every plugin and route, with the resource servers this
// authorization server issues tokens for (RFC 8707) worked out once.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { listSetting } from '@quartet/common';
import type { Config } from '../config.js';
import type { Resources } from '../oauth/authorize-checks.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    resources: Resources;
  }
}

export default fp(
  async (app: FastifyInstance, opts: { config: Config }) => {
    app.decorate('config', opts.config);
    const known = [...new Set([opts.config.RESOURCE_AUDIENCE, ...listSetting(opts.config.RESOURCES)])];
    app.decorate('resources', { defaultAudience: opts.config.RESOURCE_AUDIENCE, known });
  },
  { name: 'config' },
);
