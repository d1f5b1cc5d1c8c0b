// Client authentication at the token endpoint (RFC 6749 §2.3, §3.2.1; RFC 8414 token_endpoint_auth_methods):
// client_secret_basic, client_secret_post or private_key_jwt (RFC 7523 §2.2, see client-assertion.ts) for
// confidential clients, none for public clients. An unknown client and a wrong secret fail identically (same
// status, body, headers and work done); so do an unknown client and an assertion no registered key verifies.
// Hand-written rather than @fastify/basic-auth: that plugin neither form-urlencoding-decodes the credentials
// (RFC 6749 §2.3.1) nor knows about the body methods it must be weighed against (one method per request).
import { OAuthError } from '@quartet/common';
import { isPublicClient, type ClientAuthMethod, type ClientRecord } from '../domain/records.js';
import type { ClientRepository } from '../stores/clients.js';
import { clientSecretMatches } from '../lib/client-secrets.js';
import { single, type RawParams } from '../lib/params.js';
import { ClientMetadataDocumentError, invalidDocumentClient } from './client-metadata-document.js';
import {
  assertionNotProved,
  decodeAssertion,
  readAssertionParameters,
  requireClientIssuer,
  requireSameClientId,
  type ClientAssertion,
  type ClientAssertionVerifier,
} from './client-assertion.js';
import { JwksUriError } from './client-keys.js';

export const BASIC_REALM = 'quartet';

export interface PresentedCredentials {
  method: ClientAuthMethod;
  clientId: string;
  secret?: string;
  /** private_key_jwt: the assertion, decoded but not verified yet. */
  assertion?: ClientAssertion;
}

function invalidClient(basic: boolean): OAuthError {
  return new OAuthError('invalid_client', 'Client authentication failed.', {
    status: 401,
    reason: 'client-authentication-failed',
    // RFC 6749 §5.2: a client that used the Authorization header gets WWW-Authenticate with its scheme.
    headers: basic ? { 'www-authenticate': `Basic realm="${BASIC_REALM}"` } : {},
  });
}

/** RFC 6749 §2.3.1: Basic user and password are the form-urlencoded client_id and secret. */
function formDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

function parseBasic(header: string): { clientId: string; secret: string } {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  const decoded = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  const clientId = colon > 0 ? formDecode(decoded.slice(0, colon)) : null;
  const secret = colon > 0 ? formDecode(decoded.slice(colon + 1)) : null;
  if (!clientId || secret === null) throw invalidClient(true);
  return { clientId, secret };
}

const twoMethods = (which: string) =>
  new OAuthError('invalid_request', `Use only one client authentication method (${which}, not both).`);

/** Works out which single method the client used (RFC 6749 §2.3: never more than one). */
export function readClientCredentials(authorization: string | undefined, params: RawParams): PresentedCredentials {
  const bodyId = single(params, 'client_id');
  const bodySecret = single(params, 'client_secret');
  // RFC 7521 §4.2, RFC 7523 §2.2: the client is the assertion's sub (iss too); client_id is optional beside it.
  const jwt = readAssertionParameters(params);
  if (jwt !== undefined) {
    if (authorization !== undefined) throw twoMethods('Basic header or client_assertion');
    if (bodySecret !== undefined) throw twoMethods('client_secret or client_assertion');
    const assertion = decodeAssertion(jwt);
    const clientId = requireClientIssuer(assertion);
    requireSameClientId(bodyId, clientId);
    return { method: 'private_key_jwt', clientId, assertion };
  }
  if (authorization !== undefined) {
    if (!/^Basic\s/i.test(authorization)) throw invalidClient(true);
    if (bodySecret !== undefined) throw twoMethods('Basic header or client_secret');
    const basic = parseBasic(authorization);
    if (bodyId !== undefined && bodyId !== basic.clientId) {
      throw new OAuthError('invalid_request', 'client_id in the body differs from the authenticated client.');
    }
    return { method: 'client_secret_basic', clientId: basic.clientId, secret: basic.secret };
  }
  // RFC 6749 §5.2 invalid_client: "no client authentication included".
  if (!bodyId) throw invalidClient(false);
  if (bodySecret !== undefined) return { method: 'client_secret_post', clientId: bodyId, secret: bodySecret };
  return { method: 'none', clientId: bodyId };
}

/**
 * The server's own list of methods (RFC 8414 token_endpoint_auth_methods_supported; config.ts clientAuthMethods):
 * under PROFILE=fapi2 private_key_jwt only (FAPI 2.0 Security Profile §5.3.2.1). Checked before any client is
 * looked up, so the answer is the same for every client and tells nothing about one.
 */
export function requireAcceptedMethod(creds: PresentedCredentials, accepted: readonly ClientAuthMethod[]): void {
  if (accepted.includes(creds.method)) return;
  throw new OAuthError(
    'invalid_client',
    `This server accepts client authentication with ${accepted.join(', ')} only.`,
    {
      status: 401,
      reason: 'client-authentication-method-not-accepted',
      headers: creds.method === 'client_secret_basic' ? { 'www-authenticate': `Basic realm="${BASIC_REALM}"` } : {},
    },
  );
}

/**
 * RFC 7591 §2 token_endpoint_auth_method: a client registered with a method must use it. Checked only once
 * the credentials proved the client, so it tells nothing to someone who does not hold them. Operator clients
 * (null) may use any method that fits their type.
 */
function requireRegisteredMethod(client: ClientRecord, creds: PresentedCredentials): ClientRecord {
  const registered = client.tokenEndpointAuthMethod;
  if (registered === null || registered === creds.method) return client;
  throw new OAuthError('invalid_client', `This client is registered to authenticate with ${registered}.`, {
    status: 401,
    reason: 'client-authentication-method-mismatch',
    headers: creds.method === 'client_secret_basic' ? { 'www-authenticate': `Basic realm="${BASIC_REALM}"` } : {},
  });
}

/** The client an id names; a client_id whose metadata document cannot be used is no client (invalid_client). */
function findClient(clients: ClientRepository, clientId: string): Promise<ClientRecord | null> {
  return clients.findById(clientId).catch((err: unknown) => {
    throw err instanceof ClientMetadataDocumentError ? invalidDocumentClient(err) : err;
  });
}

/** What private_key_jwt needs: the verifier, and the URL of the endpoint the assertion is presented at. */
export interface AssertionContext {
  verifier: ClientAssertionVerifier;
  endpointUrl?: string;
}

/**
 * private_key_jwt (RFC 7523 §2.2, §3): the assertion's claims, then the client and its keys, the signature, the
 * registered method, and last the single use of its jti (client-assertion.ts says why in this order).
 */
async function authenticateWithAssertion(
  clients: ClientRepository,
  creds: PresentedCredentials,
  assertion: ClientAssertion,
  context: AssertionContext,
): Promise<ClientRecord> {
  const use = context.verifier.checkClaims(assertion, context.endpointUrl);
  const client = await findClient(clients, creds.clientId);
  if (!client) throw assertionNotProved('client-authentication-failed');
  try {
    await context.verifier.verifySignature(assertion, client);
  } catch (err) {
    // The client's own key document: what is wrong with it is what anyone fetching it sees.
    if (err instanceof JwksUriError)
      throw new OAuthError('invalid_client', `The client's jwks_uri cannot be used: ${err.problem}.`, {
        status: 401,
        reason: 'client-jwks-uri',
      });
    throw err;
  }
  requireRegisteredMethod(client, creds);
  await context.verifier.requireFirstUse(client.id, use);
  return client;
}

/**
 * Confidential clients must prove their secret or sign an assertion with a registered key; public clients (no
 * credentials, isPublicClient) must send none. Every failure to prove the client is the same invalid_client.
 * `assertions`: how to check a client assertion; without it private_key_jwt proves nothing.
 */
export async function authenticateClient(
  clients: ClientRepository,
  creds: PresentedCredentials,
  assertions?: AssertionContext,
): Promise<ClientRecord> {
  if (creds.assertion !== undefined) {
    if (!assertions) throw assertionNotProved('client-authentication-failed');
    return authenticateWithAssertion(clients, creds, creds.assertion, assertions);
  }
  const client = await findClient(clients, creds.clientId);
  const basic = creds.method === 'client_secret_basic';
  if (creds.secret !== undefined) {
    // Always hash and compare, even for an unknown or public client, so timing reveals nothing.
    const matches = clientSecretMatches(creds.secret, client?.secretHash ?? null);
    if (!client || !matches) throw invalidClient(basic);
    return requireRegisteredMethod(client, creds);
  }
  // `none` proves nothing: only for a client without credentials (a private_key_jwt client has no secret).
  if (!client || !isPublicClient(client)) throw invalidClient(basic);
  return requireRegisteredMethod(client, creds);
}
