// The demo data every Quartet deployment starts with (idempotent: running it again changes nothing it
// should not). Users have FIXED ids so the resource server can seed their items without reading our database.
import type { PrismaClient } from './generated/prisma/client.js';
import type { Config } from './config.js';
import { hashPassword } from './lib/passwords.js';
import { hashClientSecret } from './lib/client-secrets.js';
import { SUPPORTED_SCOPES } from './lib/scopes.js';
import { DEVICE_CODE_GRANT } from './lib/device-grant.js';
import { openPrisma, type DatabaseConfig } from './database.js';

export const DEMO_USERS = [
  { id: 'a11ce000-0000-4000-8000-000000000001', username: 'alice', password: 'wonderland' },
  { id: 'b0b00000-0000-4000-8000-000000000002', username: 'bob', password: 'builder' },
] as const;

export type SeedConfig = Pick<
  Config,
  'DEMO_CLIENT_SECRET' | 'DEMO_CLIENT_REDIRECT_URI' | 'WORKSHOP_CLI_REDIRECT_URI' | 'PASSWORD_SCRYPT_N'
>;

export function demoClients(config: SeedConfig) {
  return [
    {
      id: 'demo-client',
      name: 'Quartet Photo Printer',
      secretHash: hashClientSecret(config.DEMO_CLIENT_SECRET),
      redirectUris: [config.DEMO_CLIENT_REDIRECT_URI],
      allowedScopes: SUPPORTED_SCOPES,
      // client_credentials too, so the refusal of client tokens on per-user data can be shown and measured.
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    },
    {
      id: 'workshop-cli',
      name: 'Workshop CLI',
      secretHash: null,
      redirectUris: [config.WORKSHOP_CLI_REDIRECT_URI],
      allowedScopes: SUPPORTED_SCOPES,
      grantTypes: ['authorization_code', 'refresh_token'],
    },
    {
      // A public device client (RFC 8628) for the device flow in workshops and tests: no secret, no redirect.
      id: 'workshop-device',
      name: 'Workshop Device',
      secretHash: null,
      redirectUris: [],
      allowedScopes: SUPPORTED_SCOPES,
      grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'],
    },
  ];
}

export interface SeedResult {
  usersCreated: string[];
  clients: string[];
}

/**
 * Creates the demo users if missing (an existing user's password is left alone) and creates or updates the
 * demo clients from configuration (so a changed DEMO_CLIENT_SECRET takes effect on the next seed).
 */
export async function seed(prisma: PrismaClient, config: SeedConfig): Promise<SeedResult> {
  const usersCreated: string[] = [];
  for (const user of DEMO_USERS) {
    const existing = await prisma.user.findUnique({ where: { id: user.id } });
    if (existing) continue;
    const passwordHash = await hashPassword(user.password, config.PASSWORD_SCRYPT_N);
    // Upsert, not create: a concurrent seed may have inserted it meanwhile.
    await prisma.user.upsert({
      where: { id: user.id },
      create: { id: user.id, username: user.username, passwordHash },
      update: {},
    });
    usersCreated.push(user.username);
  }
  const clients = demoClients(config);
  for (const { id, ...data } of clients) {
    await prisma.client.upsert({ where: { id }, create: { id, ...data }, update: data });
  }
  return { usersCreated, clients: clients.map((c) => c.id) };
}

/**
 * Opens the configured database (DATABASE_URL, or the embedded one in DATA_DIR), seeds and closes it.
 * An embedded database can have one opener at a time: do not call this while an app has it open (use
 * `seed(app.prisma, config)` then).
 */
export async function seedDatabase(config: SeedConfig & DatabaseConfig): Promise<SeedResult> {
  const db = await openPrisma(config);
  try {
    return await seed(db.prisma, config);
  } finally {
    await db.close();
  }
}
