// The rows of clients known by their metadata documents (src/stores/metadata-document-clients.ts) on the
// configured database: a row follows its document, never takes over a client registered otherwise, and their
// number is bounded — unused rows make room, and without room a new document client is refused (503).
import t from 'tap';
import { BusyError } from '@quartet/common';
import type { ClientRecord } from '../../src/domain/records.js';
import { MetadataDocumentClientStore } from '../../src/stores/metadata-document-clients.js';
import { buildTestApp } from '../helper.js';
import { ALICE_ID } from '../browser.js';

const { app } = await buildTestApp(t);

const documentClient = (n: number): ClientRecord => ({
  id: `https://app${n}.example/client.json`,
  name: `App ${n}`,
  secretHash: null,
  redirectUris: [`https://app${n}.example/cb`],
  allowedScopes: ['photos:read'],
  grantTypes: ['authorization_code'],
  registration: 'metadata_document',
  tokenEndpointAuthMethod: 'none',
  requirePushedAuthorizationRequests: false,
  dpopBoundAccessTokens: false,
});

const documentRows = async () =>
  (await app.prisma.client.findMany({ where: { registration: 'metadata_document' }, orderBy: { id: 'asc' } })).map(
    (c) => c.id,
  );
const age = (id: string, hours: number) =>
  app.prisma.client.update({ where: { id }, data: { updatedAt: new Date(Date.now() - hours * 3600_000) } });

t.beforeEach(() => app.prisma.client.deleteMany({ where: { registration: 'metadata_document' } }));

t.test('a row follows its document and never takes over another client', async (t) => {
  const store = new MetadataDocumentClientStore(app.prisma);
  t.equal(await store.save(documentClient(1), { client_name: 'App 1' }), true);
  t.equal(await store.save({ ...documentClient(1), name: 'Renamed' }, {}), true);
  t.equal((await app.prisma.client.findUnique({ where: { id: documentClient(1).id } }))?.name, 'Renamed');
  t.equal(await store.save({ ...documentClient(1), id: 'demo-client' }, {}), false, 'an operator client stays');
  t.equal((await app.prisma.client.findUnique({ where: { id: 'demo-client' } }))?.registration, 'operator');
});

t.test('past the cap, unused rows make room; without room a new client is 503, known ones go on', async (t) => {
  const store = new MetadataDocumentClientStore(app.prisma, 2);
  await store.save(documentClient(1), {});
  await store.save(documentClient(2), {});
  const refused = await store.save(documentClient(3), {}).catch((err: unknown) => err);
  t.type(refused, BusyError);
  t.match(refused, { status: 503, error: 'temporarily_unavailable', headers: { 'retry-after': '5' } });
  t.same(await documentRows(), [documentClient(1).id, documentClient(2).id], 'the refused row is not kept');
  t.equal(await store.save({ ...documentClient(2), name: 'App 2 again' }, {}), true, 'a known client is updated');

  // Untouched for over three hours and holding nothing: it makes room.
  await age(documentClient(1).id, 4);
  t.equal(await store.save(documentClient(3), {}), true);
  t.same(await documentRows(), [documentClient(2).id, documentClient(3).id]);

  // Old but approved by alice: kept, so the next new one has no room.
  await age(documentClient(2).id, 4);
  await app.prisma.consent.create({
    data: { userId: ALICE_ID, clientId: documentClient(2).id, resource: 'http://localhost:9100', scopes: [] },
  });
  await age(documentClient(3).id, 2);
  t.type(await store.save(documentClient(4), {}).catch((err: unknown) => err), BusyError, 'recent or approved');
  t.same(await documentRows(), [documentClient(2).id, documentClient(3).id]);
});
