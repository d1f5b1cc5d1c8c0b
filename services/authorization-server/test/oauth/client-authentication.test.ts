// Client authentication (src/oauth/client-authentication.ts, RFC 6749 §2.3): which method a request used, and
// whether it proves the client, one table row per rule with the exact answer.
import t from 'tap';
import type { OAuthError } from '@quartet/common';
import { readClientCredentials, authenticateClient } from '../../src/oauth/client-authentication.js';
import type { ClientRepository } from '../../src/stores/clients.js';
import { refuses, type Refusal } from './refusals.js';
import { CONFIDENTIAL, PUBLIC, SECRET } from './client-fixtures.js';

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const clients = {
  findById: async (id: string) => [CONFIDENTIAL, PUBLIC].find((c) => c.id === id) ?? null,
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
});
