// The demo photos and documents for the demo users alice and bob (fixed ids shared with the authorization
// server's seed, so the `sub` of their tokens matches without reading its database). Used by `npm run seed`
// and, with SEED_DEMO_DATA=true, at start.
// Idempotent: items have fixed ids and are upserted, so seeding twice changes nothing; an item a user deleted
// comes back on the next seed.
import type { PrismaClient } from '../generated/prisma/client.js';
import { renderPng, type PictureName } from './demo-images.js';

export const ALICE = 'a11ce000-0000-4000-8000-000000000001';
export const BOB = 'b0b00000-0000-4000-8000-000000000002';

interface SeedPhoto {
  id: string;
  ownerSub: string;
  title: string;
  picture: PictureName;
  createdAt: string;
}
interface SeedDocument {
  id: string;
  ownerSub: string;
  title: string;
  content: string;
  createdAt: string;
}

// Fixed ids (5eed… = seed) and creation times, so lists come out in a stable order.
export const SEED_PHOTOS: readonly SeedPhoto[] = [
  {
    id: '5eed0001-0000-4000-8000-000000000001',
    ownerSub: ALICE,
    title: 'Sunset over the bay',
    picture: 'sunset',
    createdAt: '2026-06-01T19:30:00.000Z',
  },
  {
    id: '5eed0001-0000-4000-8000-000000000002',
    ownerSub: ALICE,
    title: 'Cat on the windowsill',
    picture: 'catOnWindowsill',
    createdAt: '2026-06-02T09:15:00.000Z',
  },
  {
    id: '5eed0001-0000-4000-8000-000000000003',
    ownerSub: ALICE,
    title: 'Mountain trail',
    picture: 'mountainTrail',
    createdAt: '2026-06-03T12:00:00.000Z',
  },
  {
    id: '5eed0001-0000-4000-8000-000000000004',
    ownerSub: BOB,
    title: 'Workbench',
    picture: 'workbench',
    createdAt: '2026-06-04T08:00:00.000Z',
  },
  {
    id: '5eed0001-0000-4000-8000-000000000005',
    ownerSub: BOB,
    title: 'Blueprint of the shed',
    picture: 'blueprint',
    createdAt: '2026-06-05T16:45:00.000Z',
  },
];

export const SEED_DOCUMENTS: readonly SeedDocument[] = [
  {
    id: '5eed0002-0000-4000-8000-000000000001',
    ownerSub: ALICE,
    title: 'Shopping list',
    content: 'Milk\nBread\nStrawberry jam\nTea (Earl Grey)\nBatteries for the camera',
    createdAt: '2026-06-01T08:00:00.000Z',
  },
  {
    id: '5eed0002-0000-4000-8000-000000000002',
    ownerSub: ALICE,
    title: 'Holiday plans',
    content:
      'Week 1: hike the mountain trail, two nights in the hut.\nWeek 2: the coast, photograph the sunset over the bay.\nBook the train by Friday.',
    createdAt: '2026-06-02T20:00:00.000Z',
  },
  {
    id: '5eed0002-0000-4000-8000-000000000003',
    ownerSub: BOB,
    title: 'Shed project notes',
    content:
      'Foundation: 12 concrete blocks.\nWalls: 2x4 frame, 60 cm spacing.\nRoof pitch 30 degrees; order felt and nails.',
    createdAt: '2026-06-03T18:00:00.000Z',
  },
];

export interface SeedResult {
  photos: number;
  documents: number;
}

export async function seedDemoData(prisma: PrismaClient): Promise<SeedResult> {
  for (const p of SEED_PHOTOS) {
    const data = new Uint8Array(renderPng(p.picture));
    // update: {} keeps whatever is there; the fixed id is what makes a second run a no-op.
    await prisma.photo.upsert({
      where: { id: p.id },
      create: {
        id: p.id,
        ownerSub: p.ownerSub,
        title: p.title,
        contentType: 'image/png',
        data,
        createdAt: new Date(p.createdAt),
      },
      update: {},
    });
  }
  for (const d of SEED_DOCUMENTS) {
    await prisma.document.upsert({
      where: { id: d.id },
      create: { id: d.id, ownerSub: d.ownerSub, title: d.title, content: d.content, createdAt: new Date(d.createdAt) },
      update: {},
    });
  }
  return { photos: SEED_PHOTOS.length, documents: SEED_DOCUMENTS.length };
}
