// Headers for every response (RFC 9700 §4.16 clickjacking, §4.2.4 referrer leakage): anti-framing via
// X-Frame-Options DENY and CSP frame-ancestors 'none', Referrer-Policy no-referrer, and Cache-Control
// no-store unless a route chose otherwise (pages and redirects carry codes, state and CSRF tokens).
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import helmet from '@fastify/helmet';
import { isProduction, noStoreByDefault } from '@quartet/common';

export default fp(
  async (app: FastifyInstance) => {
    await app.register(helmet, {
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          styleSrc: ["'self'"],
          scriptSrc: ["'none'"],
          imgSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          frameAncestors: ["'none'"],
          // No form-action: browsers apply it to the redirect that follows a form POST, and the consent
          // form must be able to send the user back to any registered client redirect URI.
        },
      },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: isProduction(app.config.ISSUER),
    });
    noStoreByDefault(app);
  },
  { name: 'security-headers', dependencies: ['config'] },
);
