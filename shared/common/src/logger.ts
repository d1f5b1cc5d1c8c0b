// Logger options shared by every service: JSON lines, with credentials redacted wherever they appear.
import type { FastifyServerOptions } from 'fastify';

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.client_secret',
  '*.code',
  '*.code_verifier',
  '*.refresh_token',
  '*.access_token',
  '*.token',
];

export function loggerOptions(service: string, level = process.env.LOG_LEVEL ?? 'info'): FastifyServerOptions['logger'] {
  return {
    level,
    base: { service },
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers: {
      // Query strings of /authorize and /callback carry codes and state: log the path only.
      req: (req: { method: string; url: string; id: string }) => ({ method: req.method, url: req.url.split('?')[0], id: req.id }),
    },
  };
}
