// One place that knows how to open the service's PostgreSQL database through Prisma 7's pg driver adapter.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

export function createPrismaClient(databaseUrl: string, onPoolError?: (err: Error) => void): PrismaClient {
  const adapter = new PrismaPg(
    {
      connectionString: databaseUrl,
      // pg waits forever for a connection by default; an outage must fail fast into a 503, not hang requests.
      connectionTimeoutMillis: 3_000,
      max: 10,
    },
    // An idle pooled connection dropping (database restart) is expected: log it, the pool reconnects on demand.
    onPoolError ? { onPoolError } : undefined,
  );
  return new PrismaClient({ adapter });
}
