// RFC 8414 authorization server metadata and the RFC 7517 JWK Set the resource server verifies tokens with.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { SUPPORTED_SCOPES } from '../lib/scopes.js';
import { SUPPORTED_GRANT_TYPES } from '../oauth/token-checks.js';
import { assertionAlgorithms, clientAuthMethods, dpopAlgorithms } from '../config.js';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const issuer = app.config.ISSUER;
  // RFC 8414 §2: the client authentication methods wherever a client authenticates (private_key_jwt only under
  // PROFILE=fapi2), with the assertion algorithms (RFC 7523).
  const methods = clientAuthMethods(app.config);
  const signing = assertionAlgorithms(app.config);
  const metadata = {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/oauth/token`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    scopes_supported: SUPPORTED_SCOPES,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: SUPPORTED_GRANT_TYPES,
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: methods,
    token_endpoint_auth_signing_alg_values_supported: signing,
    revocation_endpoint: `${issuer}/oauth/revoke`,
    revocation_endpoint_auth_methods_supported: methods,
    revocation_endpoint_auth_signing_alg_values_supported: signing,
    // Public clients cannot introspect (see routes/token-management.ts).
    introspection_endpoint: `${issuer}/oauth/introspect`,
    introspection_endpoint_auth_methods_supported: methods.filter((m) => m !== 'none'),
    introspection_endpoint_auth_signing_alg_values_supported: signing,
    authorization_response_iss_parameter_supported: true,
    // Sign-out at this server (routes/logout.ts), under the name OpenID Connect RP-Initiated Logout gives it.
    end_session_endpoint: `${issuer}/interaction/logout`,
    // RFC 8628 §4: the device authorization grant (routes/device-authorization.ts).
    device_authorization_endpoint: `${issuer}/oauth/device_authorization`,
    // draft-ietf-oauth-client-id-metadata-document: an https client_id names the client's metadata document.
    client_id_metadata_document_supported: app.config.CLIENT_METADATA_DOCUMENTS,
    // RFC 9449 §5.1: the algorithms a DPoP proof may be signed with.
    dpop_signing_alg_values_supported: dpopAlgorithms(app.config),
    // RFC 9126 §5: the PAR endpoint (routes/par.ts), and whether every authorization request must come through it.
    pushed_authorization_request_endpoint: `${issuer}/oauth/par`,
    require_pushed_authorization_requests: app.config.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS,
    // RFC 7591 §3 (RFC 8414 §2 registration_endpoint), only when registration is on.
    ...(app.config.CLIENT_REGISTRATION !== 'off' ? { registration_endpoint: `${issuer}/oauth/register` } : {}),
  };

  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => {
    return reply.header('cache-control', 'public, max-age=300').send(metadata);
  });

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    // Short: during a key rotation a cached copy must not outlive KEY_PUBLISH_DELAY minus the resource
    // servers' refetch cooldown (see the README's key rotation section).
    return reply.header('cache-control', 'public, max-age=10').send(app.keys.jwks());
  });
};

export default routes;
