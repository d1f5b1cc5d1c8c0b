// Signing key rotation (RFC 7517 key sets, RFC 9068 tokens): which key signs and which keys are published at
// any moment follows the timestamps in the database, each instance re-reads them periodically, and a
// rotation publishes the new key before it signs and retires the old one after its last token expired.
import t from 'tap';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import {
  KeyManager,
  keyStates,
  listSigningKeys,
  publishedKeys,
  rotateSigningKey,
  selectSigningKey,
  type KeyTimes,
} from '../../src/stores/signing-keys.js';
import { encryptPrivateKey } from '../../src/lib/key-encryption.js';
import { createEnvironment } from '../helper.js';
import { DEMO_REDIRECT, obtainCode, tokenRequest } from '../browser.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

t.test('states over a rotation timeline (no database)', async (t) => {
  // old: signing since -100 s; rotated at 0 with a 60 s publish delay, TTL 300 s, margin 60 s.
  const keys: KeyTimes[] = [
    { kid: 'old', createdAt: at(-100), activatedAt: at(-100), retiredAt: at(60 + 300 + 60) },
    { kid: 'new', createdAt: at(0), activatedAt: at(60), retiredAt: null },
    { kid: 'gone', createdAt: at(-1000), activatedAt: at(-1000), retiredAt: at(-50) },
  ];
  const states = (s: number) => Object.fromEntries(keyStates(keys, T0 + s * 1000).map((k) => [k.kid, k.state]));
  const published = (s: number) =>
    publishedKeys(keys, T0 + s * 1000)
      .map((k) => k.kid)
      .sort();
  const signing = (s: number) => selectSigningKey(keys, T0 + s * 1000)?.kid;

  t.same(states(1), { old: 'active', new: 'published', gone: 'retired' }, 'just after the rotation');
  t.same(published(1), ['new', 'old'], 'the new key is published before it signs');
  t.equal(signing(59.999), 'old', 'the old key signs until the switch');
  t.equal(signing(60), 'new', 'the new key signs from its activated_at');
  t.same(states(61), { old: 'retiring', new: 'active', gone: 'retired' });
  t.same(published(419.999), ['new', 'old'], 'the old key stays published until its last token expired + margin');
  t.same(published(420), ['new'], 'then it leaves the JWKS');
  t.same(states(420), { old: 'retired', new: 'active', gone: 'retired' });
  t.equal(signing(-2000), undefined, 'no key signs before the first activation');
  t.equal(
    selectSigningKey([{ kid: 'x', createdAt: at(0), activatedAt: null, retiredAt: null }], T0),
    undefined,
    'a key without activated_at never signs',
  );
});

// One environment for the database tests; each test leaves the keys as it found them or says so.
const env = await createEnvironment(t);
const app = await env.build({ KEY_RELOAD_INTERVAL: '1' });
const secret = env.config.KEY_ENCRYPTION_SECRET;
// The rotations below (seconds): the new key signs 60 s after it is published, and the key it replaces retires
// once its last tokens expired plus the margin, 60 + 300 + 60 = 420 s after the rotation.
const TIMING = { publishDelay: 60, accessTokenTtl: 300, retireMargin: 60 };

async function sign(manager: KeyManager, now: number): Promise<string> {
  const { kid, alg, key } = manager.signingKey(now);
  return new SignJWT({})
    .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
    .setIssuedAt(Math.floor(now / 1000))
    .sign(key);
}

t.test(
  'a rotation: published at once, signs after the delay, the old key retires after its tokens expired',
  async (t) => {
    const oldKid = app.keys.signingKey().kid;
    const now = new Date();
    const result = await rotateSigningKey(app.prisma, secret, { ...TIMING, now });
    t.not(result.kid, oldKid);
    t.same(result.activatesAt, new Date(now.getTime() + 60_000));
    t.same(result.retiring, [{ kid: oldKid, retiresAt: new Date(now.getTime() + 420_000) }]);

    const stored = await app.prisma.signingKey.findUniqueOrThrow({ where: { kid: result.kid } });
    t.same(stored.createdAt, now);
    t.same(stored.activatedAt, result.activatesAt);
    t.equal(stored.retiredAt, null);
    t.notMatch(stored.privateJwkEnc, /"d"/, 'the new private key is stored encrypted');

    await app.keys.reload();
    const ms = now.getTime();
    t.same(
      app.keys
        .jwks(ms + 1000)
        .keys.map((k) => k.kid)
        .sort(),
      [oldKid, result.kid].sort(),
      'both published',
    );
    t.equal(app.keys.signingKey(ms + 1000).kid, oldKid, 'still signing with the old key');

    // A token from just before the switch verifies against the JWKS up to retirement; after the switch the
    // new key signs and its tokens verify too.
    const before = await sign(app.keys, ms + 59_000);
    const after = await sign(app.keys, ms + 60_000);
    t.equal(decodeProtectedHeader(before).kid, oldKid);
    t.equal(decodeProtectedHeader(after).kid, result.kid);
    const overlap = createLocalJWKSet(app.keys.jwks(ms + 419_000));
    await t.resolves(
      jwtVerify(before, overlap, { currentDate: new Date(ms + 359_000) }),
      'old token verifies during the overlap',
    );
    await t.resolves(jwtVerify(after, overlap, { currentDate: new Date(ms + 61_000) }));
    t.same(
      app.keys.jwks(ms + 420_000).keys.map((k) => k.kid),
      [result.kid],
      'the old key is gone at retirement',
    );
    await t.rejects(jwtVerify(before, createLocalJWKSet(app.keys.jwks(ms + 420_000))), {
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });

    const listed = await listSigningKeys(app.prisma, new Date(ms + 1000));
    t.same(
      listed.map((k) => [k.kid, k.state]),
      [
        [result.kid, 'published'],
        [oldKid, 'active'],
      ],
      'keys list, newest first',
    );
    const later = await listSigningKeys(app.prisma, new Date(ms + 61_000));
    t.same(
      later.map((k) => k.state),
      ['active', 'retiring'],
    );
    t.same(
      (await listSigningKeys(app.prisma, new Date(ms + 421_000))).map((k) => k.state),
      ['active', 'retired'],
    );
  },
);

t.test('a second rotation before the switch keeps the earlier retirement and supersedes the pending key', async (t) => {
  const keys = await listSigningKeys(app.prisma);
  const [pending, old] = keys;
  const now = new Date();
  const second = await rotateSigningKey(app.prisma, secret, { ...TIMING, now });
  t.same(
    second.retiring.map((k) => k.kid),
    [pending!.kid],
    'only the key not yet scheduled',
  );
  const rows = new Map((await app.prisma.signingKey.findMany()).map((r) => [r.kid, r]));
  t.same(rows.get(old!.kid)!.retiredAt, old!.retiredAt, 'the old key keeps its retirement date');
  t.same(rows.get(pending!.kid)!.retiredAt, new Date(now.getTime() + 420_000));
  const ms = now.getTime();
  const all = [...rows.values()];
  t.equal(selectSigningKey(all, ms)?.kid, old!.kid);
  t.equal(
    selectSigningKey(all, pending!.activatedAt!.getTime())?.kid,
    pending!.kid,
    'the first pending key signs at its time',
  );
  t.equal(selectSigningKey(all, ms + 60_000)?.kid, second.kid, 'until the newest one takes over');
});

t.test(
  'running instances pick a rotation up by themselves (KEY_RELOAD_INTERVAL), and serve it in the JWKS',
  async (t) => {
    await app.keys.reload(); // start from what the database holds now
    const before = (await app.inject({ url: '/.well-known/jwks.json' })).json().keys.length as number;
    const rotated = await rotateSigningKey(app.prisma, secret, { publishDelay: 60, accessTokenTtl: 300 });
    const deadline = Date.now() + 5000;
    let kids: string[] = [];
    while (Date.now() < deadline) {
      kids = ((await app.inject({ url: '/.well-known/jwks.json' })).json().keys as Array<{ kid: string }>).map(
        (k) => k.kid,
      );
      if (kids.includes(rotated.kid)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.ok(kids.includes(rotated.kid), 'the new key is published without a restart');
    t.equal(kids.length, before + 1);
  },
);

t.test('a failed reload keeps the keys loaded before, logs, and recovers', async (t) => {
  const manager = await KeyManager.load(app.prisma, secret);
  const published = manager
    .jwks()
    .keys.map((k) => k.kid)
    .sort();
  const signing = manager.signingKey().kid;
  // A key encrypted with another secret cannot be loaded: the reload fails as a whole.
  await app.prisma.signingKey.create({
    data: {
      kid: 'undecryptable',
      alg: 'ES256',
      publicJwk: { kty: 'EC', kid: 'undecryptable' },
      privateJwkEnc: encryptPrivateKey('{}', 'some-other-secret-value', 'undecryptable'),
      activatedAt: new Date(Date.now() + 3_600_000),
    },
  });
  await t.rejects(manager.reload(), /undecryptable cannot be decrypted/);
  t.same(
    manager
      .jwks()
      .keys.map((k) => k.kid)
      .sort(),
    published,
    'last good set kept',
  );
  t.equal(manager.signingKey().kid, signing);

  const warnings: string[] = [];
  const infos: string[] = [];
  manager.startReloading(0.05, { warn: (_obj, msg) => warnings.push(msg), info: (msg) => infos.push(msg) });
  t.teardown(() => manager.stopReloading());
  await new Promise((r) => setTimeout(r, 300));
  t.ok(warnings.length > 0, 'the periodic reload logs its failure');
  t.match(warnings[0], /reload failed; keeping/);
  t.notMatch(warnings.join(), /"d"|BEGIN/, 'no key material in the log');

  await app.prisma.signingKey.delete({ where: { kid: 'undecryptable' } });
  const rotated = await rotateSigningKey(app.prisma, secret, { publishDelay: 60, accessTokenTtl: 300 });
  await new Promise((r) => setTimeout(r, 300));
  manager.stopReloading();
  await manager.settled();
  t.ok(
    manager.jwks().keys.some((k) => k.kid === rotated.kid),
    'recovered once the bad row is gone',
  );
  t.match(infos.join('\n'), new RegExp(`signing keys reloaded: published .*${rotated.kid}`));
});

t.test('an empty database: the first start creates one key; a rotation there signs at once', async (t) => {
  const empty = await createEnvironment(t, { seed: false });
  const first = await empty.build();
  const kid = first.keys.signingKey().kid;
  t.equal(await first.prisma.signingKey.count(), 1);
  await first.prisma.signingKey.deleteMany();

  const now = new Date();
  const rotated = await rotateSigningKey(first.prisma, secret, { publishDelay: 60, accessTokenTtl: 300, now });
  t.not(rotated.kid, kid);
  t.same(rotated.activatesAt, now, 'nothing signs yet, so nothing to wait for');
  t.same(rotated.retiring, []);
  const manager = await KeyManager.load(first.prisma, secret);
  t.equal(manager.signingKey().kid, rotated.kid, 'a start finds the rotated key instead of creating another');
  t.equal(await first.prisma.signingKey.count(), 1);
});

t.test(
  'tokens from the token endpoint carry the signing key in effect (kid) and verify against the JWKS',
  async (t) => {
    const { code, verifier } = await obtainCode(app);
    const res = await tokenRequest(
      app,
      { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT },
      { basic: ['demo-client', env.config.DEMO_CLIENT_SECRET] },
    );
    t.equal(res.statusCode, 200);
    const token = res.json().access_token as string;
    t.equal(decodeProtectedHeader(token).kid, app.keys.signingKey().kid);
    const jwks = createLocalJWKSet((await app.inject({ url: '/.well-known/jwks.json' })).json());
    await t.resolves(
      jwtVerify(token, jwks, { issuer: env.config.ISSUER, audience: env.config.RESOURCE_AUDIENCE, typ: 'at+jwt' }),
    );
    // Signed with node:crypto: the JWS form of an ES256 signature is r || s (64 bytes), not DER.
    const [header, payload, signature] = token.split('.') as [string, string, string];
    t.equal(Buffer.from(signature, 'base64url').length, 64);
    const other = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
    await t.rejects(jwtVerify(`${header}.${payload}.${other}`, jwks), {
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
  },
);

t.test('closing the app stops the reload timer', async (t) => {
  await app.close();
  // The timer is unref'd and cleared: nothing fires against the closed database (a fire would reject and
  // log; with the timer cleared, the manager is quiet).
  t.equal((app.keys as unknown as { timer: unknown }).timer, null);
});
