// The demo seed: fixed user ids, hashed secrets, and idempotent.
import t from 'tap';
import { createEnvironment } from './helper.js';
import { seedDatabase } from '../src/seed.js';
import { hashClientSecret } from '../src/lib/client-secrets.js';
import { verifyPassword } from '../src/lib/passwords.js';

t.test('seed creates the demo users and clients, and running it twice is harmless', async (t) => {
  const env = await createEnvironment(t, { seed: false });
  const first = await seedDatabase(env.config);
  t.same(first.usersCreated, ['alice', 'bob']);
  t.same(first.clients, ['demo-client', 'workshop-cli']);
  const app = await env.build();
  const before = await app.prisma.user.findMany({ orderBy: { username: 'asc' } });

  const second = await seedDatabase(env.config);
  t.same(second.usersCreated, [], 'no user created again');
  const after = await app.prisma.user.findMany({ orderBy: { username: 'asc' } });
  t.same(after, before, 'users unchanged (passwords not reset)');
  t.equal(await app.prisma.client.count(), 2);

  t.same(after.map((u) => [u.username, u.id]), [
    ['alice', 'a11ce000-0000-4000-8000-000000000001'],
    ['bob', 'b0b00000-0000-4000-8000-000000000002'],
  ]);
  t.ok(await verifyPassword('wonderland', after[0]!.passwordHash));
  t.ok(await verifyPassword('builder', after[1]!.passwordHash));
  t.match(after[0]!.passwordHash, /^scrypt\$1024\$8\$3\$/);

  const demo = await app.prisma.client.findUniqueOrThrow({ where: { id: 'demo-client' } });
  t.equal(demo.secretHash, hashClientSecret(env.config.DEMO_CLIENT_SECRET), 'secret stored as SHA-256 hex only');
  t.same(demo.redirectUris, ['http://localhost:3000/callback']);
  t.same(demo.allowedScopes, ['photos:read', 'photos:write', 'documents:read', 'documents:write']);
  t.same(demo.grantTypes, ['authorization_code']);
  const cli = await app.prisma.client.findUniqueOrThrow({ where: { id: 'workshop-cli' } });
  t.equal(cli.secretHash, null, 'public client');
  t.same(cli.redirectUris, ['http://127.0.0.1:8765/callback']);
});

t.test('seed applies a changed demo secret and redirect URI', async (t) => {
  const env = await createEnvironment(t);
  await seedDatabase({ ...env.config, DEMO_CLIENT_SECRET: 'rotated-secret', DEMO_CLIENT_REDIRECT_URI: 'http://localhost:3001/callback' });
  const app = await env.build();
  const demo = await app.prisma.client.findUniqueOrThrow({ where: { id: 'demo-client' } });
  t.equal(demo.secretHash, hashClientSecret('rotated-secret'));
  t.same(demo.redirectUris, ['http://localhost:3001/callback']);
});
