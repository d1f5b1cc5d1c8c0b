// POST /oauth/register — dynamic client registration (RFC 7591 §3), when CLIENT_REGISTRATION is open or
// token — and /oauth/register/:clientId, the client configuration endpoint (RFC 7592 §2): read (GET),
// replace (PUT) and delete (DELETE) a self-registered client with its registration access token.
// A protocol route: JSON in, JSON out (RFC 6749 §5.2 error shape with the RFC 7591 §3.2.2 codes).
//
// Secrets: the client secret and the registration access token are 256 random bits, handed out once and
// stored as SHA-256 (like operator client secrets); both are compared in constant time. So a read (RFC 7592
// §2.1) cannot return the client secret again: it returns everything else, and the registration access token
// the request presented (RFC 7592 §3 lists it in every response; it is unchanged). RFC 7591 §3.2.1 makes
// client_secret optional in a response; a client that lost its secret deletes and registers again.
//
// After an update or a delete this instance forgets its cached record at once; other instances keep theirs
// up to CLIENT_CACHE_TTL seconds (see the README). A delete removes the client's consents, grants and refresh
// tokens in the same statement, so refresh tokens stop at once everywhere.
import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { OAuthError, addressKey, isProduction, tooManyRequests, type PerAddressRateLimit } from '@quartet/common';
import type { ClientAuthMethod, ManagedClient } from '../domain/records.js';
import { generateClientId } from '../lib/client-registration.js';
import { clientSecretMatches, generateClientSecret, hashClientSecret } from '../lib/client-secrets.js';
import { waitText } from '../lib/wait-text.js';
import { BASIC_REALM } from '../oauth/client-authentication.js';
import { reportingFailures } from '../oauth/form-endpoint.js';
import {
  invalidToken,
  readBearerToken,
  requireSameRegistration,
  validateClientMetadata,
  type ClientMetadata,
} from '../oauth/registration-checks.js';
import type { ClientRegistrationData } from '../stores/client-registrations.js';
import { clientAuthMethods } from '../config.js';

export const REGISTRATION_PATH = '/oauth/register';
const BODY_LIMIT = 16384;
const HOUR_MS = 3_600_000;
/** A full store of self-registered clients does not empty itself soon: ask again in an hour. */
const FULL_RETRY_AFTER_SECONDS = 3600;

const newToken = () => randomBytes(32).toString('base64url');
/** Methods that need a client secret; none and private_key_jwt (its keys are its credentials, RFC 7523) get none. */
const usesSecret = (method: ClientAuthMethod) => method === 'client_secret_basic' || method === 'client_secret_post';

/** What the stores keep of a validated registration. */
function registrationData(
  clientId: string,
  metadata: ClientMetadata,
  secretHash: string | null,
): ClientRegistrationData {
  return {
    name: metadata.clientName ?? clientId,
    secretHash,
    redirectUris: metadata.redirectUris,
    allowedScopes: metadata.scopes,
    grantTypes: metadata.grantTypes,
    tokenEndpointAuthMethod: metadata.tokenEndpointAuthMethod,
    jwks: metadata.jwks ?? null,
    jwksUri: metadata.jwksUri ?? null,
    metadata: {
      ...metadata.descriptive,
      ...(metadata.clientName !== null ? { client_name: metadata.clientName } : {}),
      response_types: metadata.responseTypes,
    },
    requirePushedAuthorizationRequests: metadata.requirePushedAuthorizationRequests,
    dpopBoundAccessTokens: metadata.dpopBoundAccessTokens,
  };
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app;
  const clientUri = (clientId: string) => `${config.ISSUER}${REGISTRATION_PATH}/${encodeURIComponent(clientId)}`;

  /** RFC 7591 §3.2.1 client information response (RFC 7592 §3 adds the management fields). */
  function clientInformation(
    client: ManagedClient,
    secrets: { clientSecret?: string; registrationAccessToken: string },
  ): Record<string, unknown> {
    const { response_types: responseTypes, ...stored } = client.metadata;
    return {
      client_id: client.id,
      client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
      ...(secrets.clientSecret !== undefined ? { client_secret: secrets.clientSecret } : {}),
      // RFC 7591 §3.2.1: 0 means the secret does not expire.
      ...(client.secretHash !== null ? { client_secret_expires_at: 0 } : {}),
      registration_access_token: secrets.registrationAccessToken,
      registration_client_uri: clientUri(client.id),
      ...stored,
      redirect_uris: client.redirectUris,
      grant_types: client.grantTypes,
      response_types: responseTypes ?? [],
      token_endpoint_auth_method: client.tokenEndpointAuthMethod,
      ...(client.jwks ? { jwks: client.jwks } : {}),
      ...(client.jwksUri ? { jwks_uri: client.jwksUri } : {}),
      scope: client.allowedScopes.join(' '),
      require_pushed_authorization_requests: client.requirePushedAuthorizationRequests,
      dpop_bound_access_tokens: client.dpopBoundAccessTokens,
    };
  }

  /**
   * RFC 7591 §3: the initial access token when one is configured. With CLIENT_REGISTRATION=token it is
   * required; with open it is optional, and presenting it lets the registration ask for client_credentials.
   */
  function initialAccessToken(request: FastifyRequest): { trusted: boolean } {
    const expected = config.CLIENT_REGISTRATION_TOKEN;
    const presented = readBearerToken(request.headers.authorization);
    if (config.CLIENT_REGISTRATION === 'open' && (presented === null || expected === undefined))
      return { trusted: false };
    if (presented === null || !clientSecretMatches(presented, hashClientSecret(expected ?? newToken())))
      throw invalidToken(presented, BASIC_REALM);
    return { trusted: true };
  }
  // A jwks_uri is fetched through the guard of client metadata documents: loopback http only in development.
  const allowLoopbackHttp = !isProduction(config.ISSUER);
  // PROFILE=fapi2: only private_key_jwt clients are registered (FAPI 2.0 Security Profile §5.3.2.1).
  const acceptedAuthMethods = clientAuthMethods(config);

  /** RFC 7592 §2: the client the registration access token was issued to; 401 invalid_token otherwise. */
  async function managedClient(
    request: FastifyRequest,
    clientId: string,
  ): Promise<{ client: ManagedClient; token: string }> {
    const presented = readBearerToken(request.headers.authorization);
    if (presented === null) throw invalidToken(null, BASIC_REALM);
    const client = clientId.length <= 255 ? await app.clientRegistrations.find(clientId) : null;
    // Compared even when the client is unknown, so timing does not tell which client ids exist.
    const matches = clientSecretMatches(presented, client?.registrationAccessTokenHash ?? null);
    if (!client || !matches) throw invalidToken(presented, BASIC_REALM);
    return { client, token: presented };
  }

  const reporting = <T>(request: FastifyRequest, clientId: string | undefined, work: () => Promise<T>) =>
    reportingFailures(app, request, REGISTRATION_PATH, { clientId }, work);
  const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };

  if (config.CLIENT_REGISTRATION !== 'off') {
    // Per address (RATE_LIMIT_REGISTRATION an hour): every registration is a row anyone can create.
    const max = config.RATE_LIMIT_REGISTRATION;
    const rateLimit: PerAddressRateLimit =
      max > 0
        ? {
            rateLimit: {
              max,
              timeWindow: HOUR_MS,
              keyGenerator: (request: { ip: string }) => addressKey(request.ip),
              errorResponseBuilder: (_request: unknown, context: { ttl: number }) => {
                const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
                return tooManyRequests(
                  seconds,
                  `Too many client registrations from this network; try again in ${waitText(seconds)}.`,
                );
              },
            },
          }
        : {};

    app.post(REGISTRATION_PATH, { bodyLimit: BODY_LIMIT, config: rateLimit }, async (request, reply) => {
      const body = await reporting(request, undefined, async () => {
        const policy = initialAccessToken(request);
        const metadata = validateClientMetadata(request.body, { ...policy, allowLoopbackHttp, acceptedAuthMethods });
        if ((await app.clientRegistrations.countDynamic()) >= config.MAX_DYNAMIC_CLIENTS)
          throw new OAuthError('temporarily_unavailable', 'No more clients can be registered at the moment.', {
            status: 503,
            reason: 'registrations-full',
            headers: { 'retry-after': String(FULL_RETRY_AFTER_SECONDS) },
          });
        const clientId = generateClientId();
        const clientSecret = usesSecret(metadata.tokenEndpointAuthMethod) ? generateClientSecret() : undefined;
        const registrationAccessToken = newToken();
        const client = await app.clientRegistrations.create(
          clientId,
          registrationData(clientId, metadata, clientSecret === undefined ? null : hashClientSecret(clientSecret)),
          hashClientSecret(registrationAccessToken),
        );
        app.events.emit('client.registered', { request, client });
        request.log.info({ clientId, grantTypes: client.grantTypes }, 'client registered itself');
        return clientInformation(client, { clientSecret, registrationAccessToken });
      });
      return reply.code(201).headers(noStore).send(body);
    });
  }

  const Params = { type: 'object', properties: { clientId: { type: 'string' } }, required: ['clientId'] } as const;
  const path = `${REGISTRATION_PATH}/:clientId`;

  app.get(path, { schema: { params: Params } }, async (request, reply) => {
    const { clientId } = request.params;
    const body = await reporting(request, clientId, async () => {
      const { client, token } = await managedClient(request, clientId);
      return clientInformation(client, { registrationAccessToken: token });
    });
    return reply.headers(noStore).send(body);
  });

  app.put(path, { schema: { params: Params }, bodyLimit: BODY_LIMIT }, async (request, reply) => {
    const { clientId } = request.params;
    const body = await reporting(request, clientId, async () => {
      const { client, token } = await managedClient(request, clientId);
      requireSameRegistration(request.body, client.id, client.secretHash);
      // client_credentials stays with a client that has it (it was registered with the initial access
      // token); an update cannot add it, since it carries the registration access token only.
      const metadata = validateClientMetadata(request.body, {
        trusted: client.grantTypes.includes('client_credentials'),
        allowLoopbackHttp,
        acceptedAuthMethods,
      });
      // RFC 7592 §2.2: the secret is kept, dropped for a client that now authenticates with none or
      // private_key_jwt, or issued (and returned this once) for a client that had none.
      const secretMethod = usesSecret(metadata.tokenEndpointAuthMethod);
      const clientSecret = secretMethod && client.secretHash === null ? generateClientSecret() : undefined;
      const secretHash = !secretMethod
        ? null
        : clientSecret !== undefined
          ? hashClientSecret(clientSecret)
          : client.secretHash;
      const updated = await app.clientRegistrations.replace(
        client.id,
        registrationData(client.id, metadata, secretHash),
      );
      app.clients.evict(client.id);
      if (!updated) throw invalidToken(token, BASIC_REALM);
      app.events.emit('client.updated', { request, client: updated });
      request.log.info({ clientId }, 'client updated its registration');
      return clientInformation(updated, { clientSecret, registrationAccessToken: token });
    });
    return reply.headers(noStore).send(body);
  });

  app.delete(path, { schema: { params: Params } }, async (request, reply) => {
    const { clientId } = request.params;
    await reporting(request, clientId, async () => {
      const { client } = await managedClient(request, clientId);
      const deleted = await app.clientRegistrations.delete(client.id);
      app.clients.evict(client.id);
      if (!deleted) throw invalidToken('', BASIC_REALM);
      app.events.emit('client.deleted', { request, clientId });
      request.log.info({ clientId }, 'client deleted its registration');
    });
    // RFC 7592 §2.3: 204 No Content.
    return reply.code(204).headers(noStore).send();
  });
};

export default routes;
