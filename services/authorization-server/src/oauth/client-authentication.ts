// Client authentication at the token endpoint (RFC 6749 §2.3, §3.2.1; RFC 8414 token_endpoint_auth_methods):
// client_secret_basic, client_secret_post for confidential clients, none for public clients.
// An unknown client and a wrong secret fail identically (same status, body, headers and work done).
// Hand-written rather than @fastify/basic-auth: that plugin neither form-urlencoding-decodes the credentials
// (RFC 6749 §2.3.1) nor knows about the body methods it must be weighed against (one method per request).
import { OAuthError } from '@quartet/common';
import type { ClientRecord } from '../domain/records.js';
import type { ClientRepository } from '../stores/clients.js';
import { clientSecretMatches } from '../lib/client-secrets.js';
import { single, type RawParams } from '../lib/params.js';
import { ClientMetadataDocumentError, invalidDocumentClient } from './client-metadata-document.js';

export const BASIC_REALM = 'quartet';

export interface PresentedCredentials {
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
  clientId: string;
  secret?: string;
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

/** Works out which single method the client used (RFC 6749 §2.3: never more than one). */
export function readClientCredentials(authorization: string | undefined, params: RawParams): PresentedCredentials {
  const bodyId = single(params, 'client_id');
  const bodySecret = single(params, 'client_secret');
  if (authorization !== undefined) {
    if (!/^Basic\s/i.test(authorization)) throw invalidClient(true);
    if (bodySecret !== undefined) {
      throw new OAuthError(
        'invalid_request',
        'Use only one client authentication method (Basic header or client_secret, not both).',
      );
    }
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

/**
 * Confidential clients must prove their secret; public clients (no stored secret) must send none.
 * Every failure to prove the client is the same invalid_client.
 */
export async function authenticateClient(
  clients: ClientRepository,
  creds: PresentedCredentials,
): Promise<ClientRecord> {
  // A client_id whose metadata document cannot be used is no client (draft-ietf-oauth-client-id-metadata-document).
  const client = await clients.findById(creds.clientId).catch((err: unknown) => {
    throw err instanceof ClientMetadataDocumentError ? invalidDocumentClient(err) : err;
  });
  const basic = creds.method === 'client_secret_basic';
  if (creds.secret !== undefined) {
    // Always hash and compare, even for an unknown or public client, so timing reveals nothing.
    const matches = clientSecretMatches(creds.secret, client?.secretHash ?? null);
    if (!client || !matches) throw invalidClient(basic);
    return requireRegisteredMethod(client, creds);
  }
  if (!client || client.secretHash !== null) throw invalidClient(basic);
  return requireRegisteredMethod(client, creds);
}
