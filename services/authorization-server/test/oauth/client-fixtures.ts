// Client records for the unit tests of src/oauth: a confidential client with the authorization code and
// refresh grants, and a public one.
import type { ClientRecord } from '../../src/domain/records.js';
import { hashClientSecret } from '../../src/lib/client-secrets.js';

export const SECRET = 'the-demo-client-secret';

export const CONFIDENTIAL: ClientRecord = {
  id: 'demo-client',
  name: 'Demo',
  secretHash: hashClientSecret(SECRET),
  redirectUris: ['http://localhost:3000/callback'],
  allowedScopes: ['photos:read', 'documents:read'],
  grantTypes: ['authorization_code', 'refresh_token'],
  registration: 'operator',
  tokenEndpointAuthMethod: null,
  requirePushedAuthorizationRequests: false,
  dpopBoundAccessTokens: false,
};

export const PUBLIC: ClientRecord = {
  ...CONFIDENTIAL,
  id: 'workshop-cli',
  secretHash: null,
  redirectUris: ['http://127.0.0.1:8765/callback', 'http://127.0.0.1:8765/other'],
};
