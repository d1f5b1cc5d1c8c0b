// The seed is idempotent (fixed ids + upsert), gives alice and bob their own items, and its pictures are
// distinct valid PNGs that pass the same upload checks as user images. SEED_DEMO_DATA runs it at start.
import t from 'tap';
import { PNG } from 'pngjs';
import { createTestDatabase } from '@quartet/testing';
import { ALICE, BOB, SEED_PHOTOS, seedDemoData } from '../../src/lib/demo-data.js';
import { databaseLocation } from '../../src/config.js';
import { openPrisma } from '../../src/lib/prisma.js';
import { checkImage } from '../../src/lib/validation.js';
import { MIGRATIONS_DIR, bearer, setup, testConfig } from '../helper.js';

t.test('seeding twice yields the same rows', async (t) => {
  const db = await createTestDatabase(MIGRATIONS_DIR, 'rs_seed');
  const opened = await openPrisma(databaseLocation(testConfig(db.env)));
  const { prisma } = opened;
  t.teardown(async () => {
    await opened.close();
    await db.drop();
  });
  t.same(await seedDemoData(prisma), { photos: 5, documents: 3 });
  const first = await prisma.photo.findMany({ orderBy: { id: 'asc' } });
  const firstDocs = await prisma.document.findMany({ orderBy: { id: 'asc' } });
  await seedDemoData(prisma);
  t.same(await prisma.photo.findMany({ orderBy: { id: 'asc' } }), first, 'photos unchanged');
  t.same(await prisma.document.findMany({ orderBy: { id: 'asc' } }), firstDocs, 'documents unchanged');
  t.equal(await prisma.photo.count({ where: { ownerSub: ALICE } }), 3);
  t.equal(await prisma.photo.count({ where: { ownerSub: BOB } }), 2);
  t.equal(await prisma.document.count({ where: { ownerSub: ALICE } }), 2);
  t.equal(await prisma.document.count({ where: { ownerSub: BOB } }), 1);

  const images = first.map((p) => Buffer.from(p.data));
  t.equal(new Set(images.map((b) => b.toString('base64'))).size, images.length, 'every photo has its own picture');
  for (const img of images) {
    const png = PNG.sync.read(img);
    t.same([png.width, png.height], [160, 120]);
    t.ok(checkImage('image/png', img.toString('base64')), 'passes the upload checks');
  }
});

t.test('SEED_DEMO_DATA=true seeds at start: alice sees her photos through the API, in a stable order', async (t) => {
  const { app, as } = await setup(t, { env: { SEED_DEMO_DATA: 'true' } });
  const res = await app.inject({ method: 'GET', url: '/photos', headers: bearer(await as.token()) });
  t.same(
    res.json().photos.map((p: { title: string }) => p.title),
    SEED_PHOTOS.filter((p) => p.ownerSub === ALICE)
      .map((p) => p.title)
      .reverse(),
    'newest first',
  );
  const docs = await app.inject({
    method: 'GET',
    url: '/documents',
    headers: bearer(await as.token({ claims: { sub: BOB } })),
  });
  t.same(
    docs.json().documents.map((d: { title: string }) => d.title),
    ['Shed project notes'],
  );
});
