// Documents of each user, scoped by ownerSub exactly like photos (see photos.ts for why).
import { guardStorage } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';

export interface DocumentSummary {
  id: string;
  title: string;
  createdAt: Date;
}

export interface DocumentItem extends DocumentSummary {
  content: string;
}

const SUMMARY = { id: true, title: true, createdAt: true } as const;
const FULL = { ...SUMMARY, content: true } as const;

export class DocumentRepository {
  constructor(private readonly prisma: PrismaClient) {}

  list(ownerSub: string): Promise<DocumentSummary[]> {
    return guardStorage('postgresql', () =>
      this.prisma.document.findMany({
        where: { ownerSub },
        select: SUMMARY,
        orderBy: [{ createdAt: 'desc' }, { id: 'asc' }],
      }),
    );
  }

  find(ownerSub: string, id: string): Promise<DocumentItem | null> {
    return guardStorage('postgresql', () => this.prisma.document.findFirst({ where: { id, ownerSub }, select: FULL }));
  }

  create(ownerSub: string, doc: { title: string; content: string }): Promise<DocumentItem> {
    return guardStorage('postgresql', () => this.prisma.document.create({ data: { ownerSub, ...doc }, select: FULL }));
  }

  async delete(ownerSub: string, id: string): Promise<boolean> {
    const { count } = await guardStorage('postgresql', () =>
      this.prisma.document.deleteMany({ where: { id, ownerSub } }),
    );
    return count > 0;
  }
}
