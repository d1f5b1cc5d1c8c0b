// The demo seed: fixed user ids, hashed secrets, and idempotent — as `npm run seed` (seedDatabase, which
// opens and closes the database itself), as a function on an open client (seed), and at start (SEED_DEMO_DATA).
import t from 'tap';
import { createEnvironment } from './helper.js';
import { seed, seedDatabase } from '../src/seed.js';
import { hashClientSecret } from '../src/lib/client-secrets.js';
import { verifyPassword } from '../src/lib/passwords.js';

t.test('seed creates the demo users and clients, and running it twice is harmless', async (t) => {
  const env = await createEnvironment(t, { seed: false });
  const first = await seedDatabase(env.config);
  t.same(first.usersCreated, ['alice', 'bob']);
  t.same(first.clients, ['demo-client', 'workshop-cli', 'workshop-device']);
  // Embedded, the folder has one opener at a time, so the seed runs again through the app's own client.
  const app = await env.build();
  const before = await app.prisma.user.findMany({ orderBy: { username: 'asc' } });

  const second = await seed(app.prisma, env.config);
  t.same(second.usersCreated, [], 'no user created again');
  const after = await app.prisma.user.findMany({ orderBy: { username: 'asc' } });
  t.same(after, before, 'users unchanged (passwords not reset)');
  t.equal(await app.prisma.client.count(), 3);

  t.same(
    after.map((u) => [u.username, u.id]),
    [
      ['alice', 'a11ce000-0000-4000-8000-000000000001'],
      ['bob', 'b0b00000-0000-4000-8000-000000000002'],
    ],
  );
  t.ok(await verifyPassword('wonderland', after[0]!.passwordHash));
  t.ok(await verifyPassword('builder', after[1]!.passwordHash));
  t.match(after[0]!.passwordHash, /^scrypt\$1024\$8\$3\$/);

  const demo = await app.prisma.client.findUniqueOrThrow({ where: { id: 'demo-client' } });
  t.equal(demo.secretHash, hashClientSecret(env.config.DEMO_CLIENT_SECRET), 'secret stored as SHA-256 hex only');
  t.same(demo.redirectUris, ['http://localhost:3000/callback']);
  t.same(demo.allowedScopes, ['photos:read', 'photos:write', 'documents:read', 'documents:write']);
  t.same(demo.grantTypes, ['authorization_code', 'refresh_token', 'client_credentials']);
  const cli = await app.prisma.client.findUniqueOrThrow({ where: { id: 'workshop-cli' } });
  t.equal(cli.secretHash, null, 'public client');
  t.same(cli.redirectUris, ['http://127.0.0.1:8765/callback']);
  const device = await app.prisma.client.findUniqueOrThrow({ where: { id: 'workshop-device' } });
  t.equal(device.secretHash, null, 'a public device client');
  t.same(device.redirectUris, [], 'the device grant sends no browser back (RFC 8628)');
  t.same(device.grantTypes, ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token']);

  // And once more at start, as `npm start` does.
  await app.close();
  const restarted = await env.build({ SEED_DEMO_DATA: 'true' });
  t.same(
    await restarted.prisma.user.findMany({ orderBy: { username: 'asc' } }),
    before,
    'SEED_DEMO_DATA leaves existing users alone',
  );
  t.equal(await restarted.prisma.client.count(), 3);
});

t.test('seed applies a changed demo secret and redirect URI', async (t) => {
  const env = await createEnvironment(t);
  const app = await env.build();
  await seed(app.prisma, {
    ...env.config,
    DEMO_CLIENT_SECRET: 'rotated-secret',
    DEMO_CLIENT_REDIRECT_URI: 'http://localhost:3001/callback',
  });
  const demo = await app.prisma.client.findUniqueOrThrow({ where: { id: 'demo-client' } });
  t.equal(demo.secretHash, hashClientSecret('rotated-secret'));
  t.same(demo.redirectUris, ['http://localhost:3001/callback']);
});
