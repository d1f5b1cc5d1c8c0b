// `npm run keys` as a process: rotate publishes a key before it signs and schedules the old key's retirement
// (RFC 7517 key set, RFC 9068 tokens), a running server follows without a restart, list shows the states.
import t from 'tap';
import { realDatabase } from '@quartet/testing';
import { createEnvironment } from './helper.js';
import { runCli } from './cli.js';

const env = await createEnvironment(t);
const cliEnv = { ...env.backendEnv, LOG_LEVEL: 'silent' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function jwksKids(app: Awaited<ReturnType<typeof env.build>>): Promise<string[]> {
  return ((await app.inject({ url: '/.well-known/jwks.json' })).json().keys as Array<{ kid: string }>).map(
    (k) => k.kid,
  );
}

t.test('a rotation while the server runs: published, then signing, then the old key leaves the JWKS', async (t) => {
  const app = await env.build({ KEY_RELOAD_INTERVAL: '1' });
  const oldKid = app.keys.signingKey().kid;
  // Short times so the whole schedule fits in a test: publish 6 s ahead, 3 s tokens, 1 s margin. Long enough
  // that the checks below still land inside their window when the suite loads both cores (a CLI run through
  // tsx can then take several seconds).
  const rotateEnv = { ...cliEnv, KEY_PUBLISH_DELAY: '6', ACCESS_TOKEN_TTL: '3', KEY_RELOAD_INTERVAL: '1' };

  if (!realDatabase) {
    // Embedded: the folder has one opener, so the command refuses clearly and changes nothing.
    const refused = await runCli('keys', ['rotate'], rotateEnv);
    t.equal(refused.code, 1);
    t.match(refused.stderr, /keys failed: .*in use by/);
    t.same(await jwksKids(app), [oldKid]);
    await app.close();
    const rotated = await runCli('keys', ['rotate', '--retire-margin', '1'], rotateEnv);
    t.equal(rotated.code, 0, rotated.stderr);
    const restarted = await env.build({ KEY_RELOAD_INTERVAL: '1' });
    const newKid = /^Added signing key (\S+)\.$/m.exec(rotated.stdout)![1]!;
    t.same((await jwksKids(restarted)).sort(), [oldKid, newKid].sort(), 'after a restart both keys are published');
    await restarted.close();
    return;
  }

  const rotated = await runCli('keys', ['rotate', '--retire-margin', '1'], rotateEnv);
  t.equal(rotated.code, 0, rotated.stderr);
  const newKid = /^Added signing key (\S+)\.$/m.exec(rotated.stdout)?.[1];
  t.ok(newKid, rotated.stdout);
  t.match(rotated.stdout, /signs from: +\S+ \(in 6 s\); KEY_PUBLISH_DELAY is 6 s/);
  t.match(
    rotated.stdout,
    new RegExp(
      `Key ${oldKid} signs until the switch.*leaves the JWKS at \\S+ \\(in 10 s\\): switch \\+ ACCESS_TOKEN_TTL 3 s \\+ margin 1 s`,
    ),
  );
  t.match(
    rotated.stderr,
    /warning: KEY_PUBLISH_DELAY \(6 s\) is shorter than RESOURCE_SERVER_JWKS_COOLDOWN \+ KEY_RELOAD_INTERVAL/,
  );

  // The running server reads the rotation by itself (KEY_RELOAD_INTERVAL 1 s)...
  for (let i = 0; i < 50 && !(await jwksKids(app)).includes(newKid!); i++) await sleep(100);
  const row = await app.prisma.signingKey.findUniqueOrThrow({ where: { kid: newKid! } });
  t.ok(Date.now() < row.activatedAt!.getTime(), 'checked before the switch');
  t.same((await jwksKids(app)).sort(), [oldKid, newKid].sort(), 'the new key is published before it signs');

  const published = await runCli('keys', ['list', '--json'], cliEnv);
  const states = (JSON.parse(published.stdout) as Array<{ kid: string; state: string }>).map((k) => [k.kid, k.state]);
  // Listing can take a while under load; only check the states if the switch was surely still ahead.
  if (Date.now() < row.activatedAt!.getTime() - 500)
    t.same(states, [
      [newKid, 'published'],
      [oldKid, 'active'],
    ]);

  // ...signs with the new key from its activated_at...
  await sleep(Math.max(0, row.activatedAt!.getTime() - Date.now()) + 50);
  t.equal(app.keys.signingKey().kid, newKid, 'signs with the new key after the switch');
  t.same((await jwksKids(app)).sort(), [oldKid, newKid].sort(), 'the old key still verifies its tokens');
  // ...and drops the old key from the JWKS at its retired_at.
  const old = await app.prisma.signingKey.findUniqueOrThrow({ where: { kid: oldKid } });
  t.equal(old.retiredAt!.getTime(), row.activatedAt!.getTime() + 4000, 'retired at switch + TTL + margin');
  await sleep(Math.max(0, old.retiredAt!.getTime() - Date.now()) + 50);
  t.same(await jwksKids(app), [newKid], 'the old key is gone');

  const listed = await runCli('keys', ['list'], cliEnv);
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, new RegExp(`^${newKid}  active +created`, 'm'));
  t.match(listed.stdout, new RegExp(`^${oldKid}  retired +created .* retires \\S+ \\(\\d+ s ago\\)`, 'm'));
  await app.close();
});

t.test('rotate with the default delay warns about nothing and says when things happen', async (t) => {
  const rotated = await runCli('keys', ['rotate'], cliEnv);
  t.equal(rotated.code, 0, rotated.stderr);
  t.match(rotated.stdout, /published in the JWKS: now; every instance loads it within KEY_RELOAD_INTERVAL \(10 s\)/);
  t.match(rotated.stdout, /signs from: +\S+ \(in 60 s\); KEY_PUBLISH_DELAY is 60 s/);
  t.match(rotated.stdout, /\(in 420 s\): switch \+ ACCESS_TOKEN_TTL 300 s \+ margin 60 s/);
  t.equal(rotated.stderr, '');
});

t.test('bad input exits 2 with the usage', async (t) => {
  for (const args of [
    [],
    ['frobnicate'],
    ['rotate', '--retire-margin', 'soon'],
    ['rotate', '--publish-now'],
    ['list', 'extra'],
  ]) {
    const res = await runCli('keys', args, cliEnv);
    t.equal(res.code, 2, args.join(' '));
    t.match(res.stderr, /Usage: npm run keys/);
  }
  const help = await runCli('keys', ['help'], cliEnv);
  t.equal(help.code, 0);
  t.match(help.stdout, /rotate \[--retire-margin SEC\]/);
});
