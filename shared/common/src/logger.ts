// Logger options shared by every service: JSON lines, with credentials redacted wherever they appear.
import type { FastifyServerOptions } from 'fastify';

// Paths are pino/fast-redact paths: `*.x` is `x` one level down (e.g. `body.password`), so the top-level
// names are listed too. Headers never reach the log through the req serializer below, but a header object
// logged by hand would; bodies and parameter objects of the protocol are covered by the parameter names.
const SECRET_NAMES = [
  'password',
  'client_secret',
  // private_key_jwt (RFC 7523 §2.2): a signed credential, usable by whoever holds it until its exp.
  'client_assertion',
  'code',
  'code_verifier',
  'refresh_token',
  'access_token',
  'id_token',
  'token',
  'registration_access_token',
  '_csrf',
  'device_code',
  'user_code',
];
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  ...SECRET_NAMES,
  ...SECRET_NAMES.map((name) => `*.${name}`),
];

export function loggerOptions(
  service: string,
  level = process.env.LOG_LEVEL ?? 'info',
): FastifyServerOptions['logger'] {
  return {
    level,
    base: { service },
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers: {
      // Query strings of /authorize and /callback carry codes and state: log the path only. No headers (they
      // carry Authorization and cookies), no body.
      req: (req: { method: string; url: string; id: string }) => ({
        method: req.method,
        url: req.url.split('?')[0],
        id: req.id,
      }),
    },
  };
}
