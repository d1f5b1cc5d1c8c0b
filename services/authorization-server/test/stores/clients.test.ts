// The client-record cache (CLIENT_CACHE_TTL): a known client is read once per TTL, an unknown id on every
// request, concurrent misses share one read, a failed read is not remembered, and an edit to a client takes
// effect once the TTL has passed.
import t from 'tap';
import { ClientRepository } from '../../src/stores/clients.js';
import type { ClientRecord } from '../../src/domain/records.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { hashClientSecret } from '../../src/lib/client-secrets.js';
import { buildTestApp } from '../helper.js';
import { tokenRequest } from '../browser.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A repository over a stand-in for Prisma whose findUnique answers from `answers` and counts its calls. */
function repository(ttlMs: number, answers: Record<string, ClientRecord | Error>) {
  const calls: string[] = [];
  const prisma = {
    client: {
      async findUnique({ where }: { where: { id: string } }) {
        calls.push(where.id);
        await sleep(5);
        const answer = answers[where.id];
        if (answer instanceof Error) throw answer;
        return answer ?? null;
      },
    },
  } as unknown as PrismaClient;
  return { clients: new ClientRepository(prisma, ttlMs), calls };
}

const record: ClientRecord = {
  id: 'app',
  name: 'App',
  secretHash: null,
  redirectUris: [],
  allowedScopes: [],
  grantTypes: [],
  registration: 'operator',
  tokenEndpointAuthMethod: null,
  requirePushedAuthorizationRequests: false,
  dpopBoundAccessTokens: false,
};

t.test('a known client is read once per TTL; concurrent misses share one read', async (t) => {
  const { clients, calls } = repository(200, { app: record });
  const results = await Promise.all([clients.findById('app'), clients.findById('app'), clients.findById('app')]);
  t.same(results, [record, record, record]);
  t.same(calls, ['app'], 'one read for three concurrent lookups');
  t.same(await clients.findById('app'), record);
  t.same(calls, ['app'], 'served from the cache within the TTL');
  await sleep(250);
  t.same(await clients.findById('app'), record);
  t.same(calls, ['app', 'app'], 'read again after the TTL');
});

t.test('unknown ids and failed reads are never kept', async (t) => {
  const answers: Record<string, ClientRecord | Error> = { flaky: new Error('connection reset') };
  const { clients, calls } = repository(60_000, answers);
  t.equal(await clients.findById('nobody'), null);
  t.equal(await clients.findById('nobody'), null);
  t.same(calls, ['nobody', 'nobody'], 'an unknown id is read every time');
  await t.rejects(clients.findById('flaky'), /connection reset/);
  answers.flaky = { ...record, id: 'flaky' };
  t.same(await clients.findById('flaky'), answers.flaky, 'the failure was not remembered');
  t.same(calls.filter((id) => id === 'flaky').length, 2);
});

t.test('CLIENT_CACHE_TTL=0 reads on every lookup', async (t) => {
  const { clients, calls } = repository(0, { app: record });
  await clients.findById('app');
  await clients.findById('app');
  t.same(calls, ['app', 'app']);
});

t.test('through the token endpoint: a changed secret takes effect after the TTL; a new client at once', async (t) => {
  const TTL = 2;
  const { app, config } = await buildTestApp(t, { CLIENT_CACHE_TTL: String(TTL) });
  const clientCredentials = (id: string, secret: string) =>
    tokenRequest(app, { grant_type: 'client_credentials', scope: 'photos:read' }, { basic: [id, secret] });

  t.equal(
    (await clientCredentials('demo-client', config.DEMO_CLIENT_SECRET)).statusCode,
    200,
    'the client is now cached',
  );
  await app.prisma.client.update({
    where: { id: 'demo-client' },
    data: { secretHash: hashClientSecret('a-new-secret') },
  });
  t.equal(
    (await clientCredentials('demo-client', config.DEMO_CLIENT_SECRET)).statusCode,
    200,
    'within the TTL the cached record answers',
  );
  await sleep(TTL * 1000 + 200);
  const refused = await clientCredentials('demo-client', config.DEMO_CLIENT_SECRET);
  t.equal(refused.statusCode, 401, 'after the TTL the old secret is refused');
  t.equal(refused.json().error, 'invalid_client');
  t.equal((await clientCredentials('demo-client', 'a-new-secret')).statusCode, 200, 'and the new one works');

  const unknown = await clientCredentials('late-client', 'late-secret');
  t.equal(unknown.json().error, 'invalid_client');
  await app.prisma.client.create({
    data: {
      id: 'late-client',
      name: 'Late',
      secretHash: hashClientSecret('late-secret'),
      redirectUris: [],
      allowedScopes: ['photos:read'],
      grantTypes: ['client_credentials'],
    },
  });
  t.equal(
    (await clientCredentials('late-client', 'late-secret')).statusCode,
    200,
    'a client registered after a miss works at once',
  );
});
