// The PostgreSQL connection (Prisma 7 with the pg driver adapter), closed with the app.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

declare module 'fastify' {
  interface FastifyInstance {
    prisma: PrismaClient;
  }
}

export function createPrismaClient(databaseUrl: string): PrismaClient {
  // Short connect timeout so an outage answers 503 quickly instead of holding requests.
  const adapter = new PrismaPg({ connectionString: databaseUrl, connectionTimeoutMillis: 2000, idleTimeoutMillis: 10000 });
  return new PrismaClient({ adapter });
}

export default fp(
  async (app: FastifyInstance) => {
    const prisma = createPrismaClient(app.config.DATABASE_URL);
    app.decorate('prisma', prisma);
    app.addHook('onClose', async () => {
      await prisma.$disconnect();
    });
  },
  { name: 'prisma', dependencies: ['config'] },
);
