// `npm run clients -- register | list`: registers OAuth clients (RFC 6749 §2) on the server's own database.
// The client_id and secret are generated here; the secret is printed once and stored only as its SHA-256
// hash (lib/client-secrets.ts), so it can never be shown again. A client registered with public keys
// (--jwks-file or --jwks-uri) gets no secret: it authenticates with private_key_jwt (RFC 7523). Checks:
// lib/client-registration.ts.
import { readFileSync } from 'node:fs';
import { isProduction } from '@quartet/common';
import {
  ClientRegistrationError,
  listClients,
  registerClient,
  REGISTRABLE_GRANT_TYPES,
  validateRegistration,
} from '../lib/client-registration.js';
import { SUPPORTED_SCOPES } from '../lib/scopes.js';
import { CLIENT_ASSERTION_ALGORITHMS } from '../lib/client-jwks.js';
import { UsageError, parseCommandLine, runCommand, withDatabase } from './cli-support.js';

const USAGE = `Usage: npm run clients -w @quartet/authorization-server -- <command>

Commands:
  register --name NAME --grant GRANT... --scope SCOPE... [--redirect-uri URI...]
           [--public | --jwks-file FILE | --jwks-uri URL] [--require-par] [--dpop-bound-access-tokens]
      GRANT: ${REGISTRABLE_GRANT_TYPES.join(', ')} (device_code for short; repeat --grant for several)
      SCOPE: ${SUPPORTED_SCOPES.join(', ')} (repeat --scope for several)
      URI:   absolute https URL without fragment (http only on localhost / loopback); required with
             authorization_code, matched exactly at /authorize (repeat for several)
      --public: no secret (a native or browser app, authenticating with PKCE only); not with client_credentials
      --jwks-file FILE: a JWK Set of the client's public signing keys (EC P-256/P-384, RSA of 2048 bits or
             more, Ed25519; at most 10, no private members): no secret, the client authenticates with
             private_key_jwt (RFC 7523), signing with ${CLIENT_ASSERTION_ALGORITHMS.join(', ')}
      --jwks-uri URL: the same, with the keys published at an https URL (fetched when needed, cached)
      --require-par: authorization requests only through the PAR endpoint (RFC 9126 §6)
      --dpop-bound-access-tokens: every token request must carry a DPoP proof (RFC 9449 §5.2)
  list [--json]   every client and how it was registered (operator, dynamic, metadata_document), without secrets

Uses the server's configuration (DATABASE_URL, or the embedded database in DATA_DIR). An embedded database
has one opener: stop the server first.`;

/** The JSON of a --jwks-file; a file that cannot be read or parsed is a usage error naming it. */
function readJwksFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read --jwks-file ${path}: ${(err as Error).message}`);
  }
}

const kids = (jwks: { keys: { kid?: string }[] }) => jwks.keys.map((k) => k.kid ?? '-').join(' ');

await runCommand('clients', USAGE, async (config) => {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'register') {
    const { values } = parseCommandLine({
      args: rest,
      options: {
        name: { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        grant: { type: 'string', multiple: true },
        scope: { type: 'string', multiple: true },
        public: { type: 'boolean' },
        'require-par': { type: 'boolean' },
        'dpop-bound-access-tokens': { type: 'boolean' },
        'jwks-file': { type: 'string' },
        'jwks-uri': { type: 'string' },
      },
    });
    const request = {
      name: values.name,
      redirectUris: values['redirect-uri'],
      grantTypes: values.grant,
      scopes: values.scope,
      public: values.public,
      requirePar: values['require-par'],
      dpopBoundAccessTokens: values['dpop-bound-access-tokens'],
      jwks: values['jwks-file'] === undefined ? undefined : readJwksFile(values['jwks-file']),
      jwksUri: values['jwks-uri'],
    };
    // A jwks_uri is fetched like a client metadata document: loopback http only with a development issuer.
    // Under PROFILE=fapi2 a client with a secret, or none, could never authenticate: refused here already.
    const options = { allowLoopbackHttp: !isProduction(config.ISSUER), keysOnly: config.PROFILE === 'fapi2' };
    // Checked before the database is opened: a typo gets its answer even when the database is unreachable.
    try {
      validateRegistration(request, options);
    } catch (err) {
      if (err instanceof ClientRegistrationError)
        throw new UsageError(`cannot register this client:\n  - ${err.problems.join('\n  - ')}`);
      throw err;
    }
    const { clientId, clientSecret, registration } = await withDatabase(config, (prisma) =>
      registerClient(prisma, request, options),
    );
    const keys = registration.jwks !== undefined || registration.jwksUri !== undefined;
    console.log(
      `Registered ${registration.public ? 'public' : 'confidential'} client "${registration.name}"` +
        (keys ? ' authenticating with private_key_jwt.' : '.'),
    );
    console.log(`client_id:     ${clientId}`);
    if (clientSecret !== null) {
      console.log(`client_secret: ${clientSecret}`);
      console.log('Store the client secret now: it is NOT shown again (only its SHA-256 hash is kept).');
    }
    console.log(`grant types:   ${registration.grantTypes.join(' ')}`);
    console.log(`scopes:        ${registration.scopes.join(' ')}`);
    if (registration.redirectUris.length) console.log(`redirect URIs: ${registration.redirectUris.join(' ')}`);
    if (registration.requirePar) console.log('requires pushed authorization requests (RFC 9126)');
    if (registration.dpopBoundAccessTokens) console.log('requires DPoP at the token endpoint (RFC 9449)');
    if (registration.jwks)
      console.log(`keys:          ${registration.jwks.keys.length} (kid ${kids(registration.jwks)})`);
    if (registration.jwksUri) console.log(`jwks_uri:      ${registration.jwksUri}`);
    return;
  }
  if (command === 'list') {
    const { values } = parseCommandLine({ args: rest, options: { json: { type: 'boolean' } } });
    const clients = await withDatabase(config, listClients);
    if (values.json) {
      console.log(JSON.stringify(clients, null, 2));
      return;
    }
    for (const c of clients) {
      console.log(
        `${c.clientId}  ${c.type.padEnd(12)}  ${c.registration.padEnd(17)}  "${c.name}"  grants: ${c.grantTypes.join(' ')}  scopes: ${c.scopes.join(' ')}` +
          (c.redirectUris.length ? `  redirect URIs: ${c.redirectUris.join(' ')}` : '') +
          (c.requirePushedAuthorizationRequests ? '  requires PAR' : '') +
          (c.dpopBoundAccessTokens ? '  requires DPoP' : '') +
          (c.authMethod ? `  auth: ${c.authMethod}` : '') +
          (c.keys !== undefined ? ` (${c.keys} keys)` : '') +
          (c.jwksUri ? ` (jwks_uri ${c.jwksUri})` : ''),
      );
    }
    return;
  }
  throw new UsageError(command ? `unknown command "${command}"` : 'a command is required');
});
