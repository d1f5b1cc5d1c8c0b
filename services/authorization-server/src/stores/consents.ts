// Consents in PostgreSQL (RFC 6749 §4.1.1 "obtains an authorization decision"): what a user approved for a
// client, per resource (RFC 8707: approving one API is not approving another). Every call goes through
// guardStorage, so an outage surfaces as StorageUnavailableError (503).
import { randomUUID } from 'node:crypto';
import { guardStorage } from '@quartet/common';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { ConnectedApp } from '../domain/records.js';

const pg = <T>(fn: () => Promise<T>) => guardStorage('postgresql', fn);

export class ConsentRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Scopes the user has approved for the client and this resource (empty when never asked). */
  async grantedScopes(userId: string, clientId: string, resource: string): Promise<string[]> {
    const consent = await pg(() =>
      this.prisma.consent.findUnique({
        where: { userId_clientId_resource: { userId, clientId, resource } },
        select: { scopes: true },
      }),
    );
    return consent?.scopes ?? [];
  }

  /** Adds scopes to the user's consent for the client and resource, in one statement so concurrent approvals merge. */
  async grant(userId: string, clientId: string, resource: string, scopes: string[]): Promise<void> {
    await pg(
      () => this.prisma.$executeRaw`
        INSERT INTO "consents" ("id", "user_id", "client_id", "resource", "scopes", "updated_at")
        VALUES (${randomUUID()}::uuid, ${userId}::uuid, ${clientId}, ${resource}, ${scopes}::text[], now())
        ON CONFLICT ("user_id", "client_id", "resource") DO UPDATE
        SET "scopes" = ARRAY(SELECT DISTINCT unnest("consents"."scopes" || EXCLUDED."scopes") ORDER BY 1),
            "updated_at" = now()`,
    );
  }

  /** Deletes every consent the user gave the client (all resources); whether there was one. */
  async withdraw(userId: string, clientId: string): Promise<{ removed: boolean }> {
    const deleted = await pg(() => this.prisma.consent.deleteMany({ where: { userId, clientId } }));
    return { removed: deleted.count > 0 };
  }

  /** The clients a user has approved, with the resources of each, newest first, for the "connected apps" page. */
  async connectedApps(userId: string): Promise<ConnectedApp[]> {
    const consents = await pg(() =>
      this.prisma.consent.findMany({
        where: { userId },
        orderBy: [{ updatedAt: 'desc' }, { resource: 'asc' }],
        select: {
          clientId: true,
          resource: true,
          scopes: true,
          createdAt: true,
          updatedAt: true,
          client: { select: { name: true } },
        },
      }),
    );
    const apps = new Map<string, ConnectedApp>();
    for (const c of consents) {
      const app = apps.get(c.clientId);
      if (!app) {
        apps.set(c.clientId, {
          clientId: c.clientId,
          clientName: c.client.name,
          resources: [],
          grantedAt: c.createdAt,
          updatedAt: c.updatedAt,
        });
      } else if (c.createdAt < app.grantedAt) {
        app.grantedAt = c.createdAt;
      }
      apps.get(c.clientId)!.resources.push({ resource: c.resource, scopes: c.scopes });
    }
    return [...apps.values()];
  }
}
