// Client authentication (src/oauth/client-authentication.ts, RFC 6749 §2.3): which method a request used, and
// whether it proves the client, one table row per rule with the exact answer.
import t from 'tap';
import type { OAuthError } from '@quartet/common';
import { readClientCredentials, authenticateClient } from '../../src/oauth/client-authentication.js';
import type { ClientRepository } from '../../src/stores/clients.js';
import type { ClientRecord } from '../../src/domain/records.js';
import { refuses, type Refusal } from './refusals.js';
import { CONFIDENTIAL, PUBLIC, SECRET } from './client-fixtures.js';

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
// Self-registered clients bound to the token_endpoint_auth_method they registered (RFC 7591 §2).
const POST_ONLY: ClientRecord = {
  ...CONFIDENTIAL,
  id: 'post-only',
  registration: 'dynamic',
  tokenEndpointAuthMethod: 'client_secret_post',
};
const BASIC_ONLY: ClientRecord = { ...POST_ONLY, id: 'basic-only', tokenEndpointAuthMethod: 'client_secret_basic' };
const clients = {
  findById: async (id: string) => [CONFIDENTIAL, PUBLIC, POST_ONLY, BASIC_ONLY].find((c) => c.id === id) ?? null,
} as unknown as ClientRepository;

const failed = (status = 401): Refusal => ({
  error: 'invalid_client',
  description: 'Client authentication failed.',
  reason: 'client-authentication-failed',
  status,
});

const rows: [string, () => unknown, Refusal][] = [
  ['no client authentication at all (RFC 6749 §5.2)', () => readClientCredentials(undefined, {}), failed()],
  ['an Authorization header of another scheme', () => readClientCredentials('Bearer x', {}), failed()],
  ['Basic without a colon', () => readClientCredentials(`Basic ${Buffer.from('x').toString('base64')}`, {}), failed()],
  [
    'two methods at once (RFC 6749 §2.3)',
    () => readClientCredentials(basic('demo-client', SECRET), { client_secret: SECRET }),
    {
      error: 'invalid_request',
      description: 'Use only one client authentication method (Basic header or client_secret, not both).',
      reason: 'invalid_request',
    },
  ],
  [
    'a body client_id other than the Basic one',
    () => readClientCredentials(basic('demo-client', SECRET), { client_id: 'workshop-cli' }),
    {
      error: 'invalid_request',
      description: 'client_id in the body differs from the authenticated client.',
      reason: 'invalid_request',
    },
  ],
  [
    'a wrong secret',
    () => authenticateClient(clients, { method: 'client_secret_post', clientId: 'demo-client', secret: 'wrong' }),
    failed(),
  ],
  [
    'an unknown client, exactly like a wrong secret',
    () => authenticateClient(clients, { method: 'client_secret_post', clientId: 'nobody', secret: SECRET }),
    failed(),
  ],
  [
    'a confidential client presenting no secret',
    () => authenticateClient(clients, { method: 'none', clientId: 'demo-client' }),
    failed(),
  ],
  [
    'a public client presenting a secret',
    () => authenticateClient(clients, { method: 'client_secret_post', clientId: 'workshop-cli', secret: SECRET }),
    failed(),
  ],
  [
    'a client registered for client_secret_post using Basic (RFC 7591 §2)',
    () => authenticateClient(clients, { method: 'client_secret_basic', clientId: 'post-only', secret: SECRET }),
    {
      error: 'invalid_client',
      description: 'This client is registered to authenticate with client_secret_post.',
      reason: 'client-authentication-method-mismatch',
      status: 401,
    },
  ],
  [
    'a client registered for client_secret_basic using client_secret_post',
    () => authenticateClient(clients, { method: 'client_secret_post', clientId: 'basic-only', secret: SECRET }),
    {
      error: 'invalid_client',
      description: 'This client is registered to authenticate with client_secret_basic.',
      reason: 'client-authentication-method-mismatch',
      status: 401,
    },
  ],
  [
    'a registered method with a wrong secret: the usual failure, the method not told',
    () => authenticateClient(clients, { method: 'client_secret_basic', clientId: 'post-only', secret: 'wrong' }),
    failed(),
  ],
];

for (const [name, run, expected] of rows) t.test(name, (t) => refuses(t, run, expected));

t.test('a failed Basic authentication carries WWW-Authenticate (RFC 6749 §5.2)', async (t) => {
  const headersOf = (run: () => unknown) => {
    try {
      run();
    } catch (err) {
      return (err as OAuthError).headers;
    }
    return null;
  };
  t.same(
    headersOf(() => readClientCredentials('Bearer x', {})),
    { 'www-authenticate': 'Basic realm="quartet"' },
  );
  t.same(
    headersOf(() => readClientCredentials(undefined, {})),
    {},
  );
});

t.test('each method, read and proved', async (t) => {
  t.same(readClientCredentials(basic('demo-client', SECRET), {}), {
    method: 'client_secret_basic',
    clientId: 'demo-client',
    secret: SECRET,
  });
  t.same(readClientCredentials(undefined, { client_id: 'demo-client', client_secret: SECRET }), {
    method: 'client_secret_post',
    clientId: 'demo-client',
    secret: SECRET,
  });
  t.same(readClientCredentials(undefined, { client_id: 'workshop-cli' }), { method: 'none', clientId: 'workshop-cli' });
  const proved = await authenticateClient(clients, {
    method: 'client_secret_basic',
    clientId: 'demo-client',
    secret: SECRET,
  });
  t.equal(proved.id, 'demo-client');
  t.equal((await authenticateClient(clients, { method: 'none', clientId: 'workshop-cli' })).id, 'workshop-cli');
  const posted = await authenticateClient(clients, {
    method: 'client_secret_post',
    clientId: 'post-only',
    secret: SECRET,
  });
  t.equal(posted.id, 'post-only', 'a registered method used as registered');
  // Operator clients (null) keep using either secret method.
  for (const method of ['client_secret_basic', 'client_secret_post'] as const)
    t.equal((await authenticateClient(clients, { method, clientId: 'demo-client', secret: SECRET })).id, 'demo-client');
});

t.test('a method mismatch over Basic carries the Basic challenge (RFC 6749 §5.2)', async (t) => {
  const err = await authenticateClient(clients, {
    method: 'client_secret_basic',
    clientId: 'post-only',
    secret: SECRET,
  }).catch((e: OAuthError) => e);
  t.same((err as OAuthError).headers, { 'www-authenticate': 'Basic realm="quartet"' });
});
