// Client registration (RFC 6749 §2, §3.1.2; RFC 9700 §2.1; RFC 8252 §7.3): every check of
// lib/client-registration.ts, the stored secret hash, a registered client going through the real flow, and
// `npm run clients` as a process (output, exit codes).
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ClientRegistrationError,
  generateClientId,
  listClients,
  redirectUriProblem,
  registerClient,
  validateRegistration,
  type ClientRegistrationRequest,
} from '../src/lib/client-registration.js';
import { clientSecretMatches } from '../src/lib/client-secrets.js';
import { createEnvironment } from './helper.js';
import { obtainCode, tokenRequest } from './browser.js';
import { runCli } from './cli.js';
import { clientKey } from './client-assertion-fixtures.js';

const valid: ClientRegistrationRequest = {
  name: 'Photo Frame',
  redirectUris: ['https://frame.example/callback'],
  grantTypes: ['authorization_code', 'refresh_token'],
  scopes: ['photos:read'],
};

/** The problems validateRegistration reports for `request` (empty when it is valid). */
function problems(request: ClientRegistrationRequest): string[] {
  try {
    validateRegistration(request);
    return [];
  } catch (err) {
    if (err instanceof ClientRegistrationError) return err.problems;
    throw err;
  }
}

/** Exactly one problem, matching `pattern`. */
function onlyProblem(t: Test, request: ClientRegistrationRequest, pattern: RegExp): void {
  const found = problems(request);
  t.equal(found.length, 1, `one problem: ${found.join(' | ')}`);
  t.match(found[0], pattern);
}

t.test('a valid request is accepted as given (deduplicated, scopes split on spaces)', async (t) => {
  t.same(validateRegistration(valid), { ...valid, public: false });
  t.same(
    validateRegistration({
      ...valid,
      name: '  Frame  ',
      scopes: ['photos:read photos:write', 'photos:read'],
      grantTypes: ['authorization_code', 'authorization_code'],
    }),
    {
      name: 'Frame',
      redirectUris: valid.redirectUris,
      grantTypes: ['authorization_code'],
      scopes: ['photos:read', 'photos:write'],
      public: false,
    },
  );
  t.same(
    validateRegistration({ name: 'Batch', grantTypes: ['client_credentials'], scopes: ['documents:read'] })
      .redirectUris,
    [],
    'no redirect URI needed without authorization_code',
  );
  t.equal(validateRegistration({ ...valid, public: true }).public, true);
});

t.test('redirect URIs: absolute, no fragment, https or http on loopback only', async (t) => {
  for (const ok of [
    'https://app.example/cb',
    'https://app.example:8443/cb?x=1',
    'http://localhost:8080/cb',
    'http://127.0.0.1/cb',
    'http://127.5.6.7:1/cb',
    'http://[::1]:9000/cb',
  ]) {
    t.equal(redirectUriProblem(ok), null, ok);
  }
  t.match(redirectUriProblem('/callback'), /is not an absolute URI/);
  t.match(redirectUriProblem('app.example/cb'), /is not an absolute URI/);
  t.match(redirectUriProblem('https://app.example/cb#frag'), /must not contain a fragment/);
  t.match(redirectUriProblem('https://app.example/cb#'), /must not contain a fragment/, 'an empty fragment too');
  t.match(
    redirectUriProblem('http://app.example/cb'),
    /must use https \(http is allowed only on localhost or a loopback address\)/,
  );
  t.match(redirectUriProblem('http://localhost.evil.example/cb'), /must use https/);
  t.match(redirectUriProblem('http://10.0.0.1/cb'), /must use https/);
  t.match(redirectUriProblem('https://user:pw@app.example/cb'), /must not contain user credentials/);
  t.match(redirectUriProblem('javascript:alert(1)'), /must be an https URL/);
  t.match(redirectUriProblem('ftp://app.example/cb'), /must be an https URL/);
  onlyProblem(
    t,
    { ...valid, redirectUris: ['https://ok.example/cb', 'http://bad.example/cb'] },
    /"http:\/\/bad.example\/cb" must use https/,
  );
});

t.test('grants: known ones, at least one, and combinations that make sense', async (t) => {
  onlyProblem(t, { ...valid, grantTypes: [], redirectUris: [] }, /at least one grant type is required/);
  onlyProblem(t, { ...valid, grantTypes: undefined, redirectUris: [] }, /at least one grant type is required/);
  onlyProblem(t, { ...valid, grantTypes: ['authorization_code', 'password'] }, /unknown grant type "password"/);
  onlyProblem(t, { ...valid, grantTypes: ['implicit'], redirectUris: [] }, /unknown grant type "implicit"/);
  t.same(problems({ name: 'x', grantTypes: ['client_credentials'], scopes: ['photos:read'], public: true }), [
    'a public client cannot use client_credentials: it has no secret to authenticate with',
  ]);
  t.same(problems({ ...valid, redirectUris: [] }), [
    'authorization_code needs at least one redirect URI (--redirect-uri)',
  ]);
  onlyProblem(t, { ...valid, grantTypes: ['client_credentials'] }, /redirect URIs are only used by authorization_code/);
  onlyProblem(
    t,
    { name: 'x', grantTypes: ['refresh_token', 'client_credentials'], scopes: ['photos:read'] },
    /refresh_token needs authorization_code/,
  );
});

t.test('the device grant (RFC 8628): no redirect URI, public clients welcome, refresh tokens with it', async (t) => {
  const device = { name: 'Living-room TV', scopes: ['photos:read'], public: true };
  const urn = 'urn:ietf:params:oauth:grant-type:device_code';
  t.same(validateRegistration({ ...device, grantTypes: ['device_code', 'refresh_token'] }), {
    name: 'Living-room TV',
    redirectUris: [],
    grantTypes: [urn, 'refresh_token'],
    scopes: ['photos:read'],
    public: true,
  });
  t.same(problems({ ...device, grantTypes: [urn] }), [], 'the URN itself is accepted too');
  onlyProblem(
    t,
    { ...device, grantTypes: ['device_code'], redirectUris: ['https://tv.example/cb'] },
    /redirect URIs are only used by authorization_code/,
  );
});

t.test('--require-par and --dpop-bound-access-tokens (RFC 9126 §6, RFC 9449 §5.2)', async (t) => {
  t.same(validateRegistration({ ...valid, requirePar: true, dpopBoundAccessTokens: true }), {
    ...valid,
    public: false,
    requirePar: true,
    dpopBoundAccessTokens: true,
  });
  t.same(validateRegistration({ ...valid, requirePar: false, dpopBoundAccessTokens: false }), {
    ...valid,
    public: false,
  });
  t.same(problems({ name: 'Batch', grantTypes: ['client_credentials'], scopes: ['photos:read'], requirePar: true }), [
    '--require-par applies to authorization requests: it needs --grant authorization_code',
  ]);
  t.same(
    problems({
      name: 'Batch',
      grantTypes: ['client_credentials'],
      scopes: ['photos:read'],
      dpopBoundAccessTokens: true,
    }),
    [],
    'every grant can be DPoP-bound',
  );
});

t.test('scopes: known ones, at least one; a name is required', async (t) => {
  onlyProblem(t, { ...valid, scopes: [] }, /at least one scope is required/);
  onlyProblem(
    t,
    { ...valid, scopes: ['photos:read', 'photos:delete'] },
    /unknown scope "photos:delete" \(known: photos:read, photos:write, documents:read, documents:write\)/,
  );
  onlyProblem(t, { ...valid, name: '   ' }, /a name is required/);
  onlyProblem(t, { ...valid, name: 'x'.repeat(101) }, /at most 100 printable characters/);
  onlyProblem(t, { ...valid, name: 'bell\x07' }, /printable/);
  t.equal(
    problems({ name: '', grantTypes: ['nope'], scopes: ['nope'], redirectUris: ['nope'] }).length,
    5,
    'every problem is reported at once',
  );
});

const key = await clientKey('ES256', 'key-1');
const JWKS = { keys: [key.jwk] };

t.test('private_key_jwt (RFC 7523): keys from a JWK Set or a jwks_uri, instead of a secret', async (t) => {
  const service = { name: 'Batch', grantTypes: ['client_credentials'], scopes: ['photos:read'] };
  t.same(validateRegistration({ ...service, jwks: JWKS }).jwks, JWKS);
  t.equal(
    validateRegistration({ ...service, jwksUri: 'https://batch.example/jwks.json' }).jwksUri,
    'https://batch.example/jwks.json',
  );
  t.same(problems({ ...service, jwks: JWKS, jwksUri: 'https://batch.example/jwks.json' }), [
    'give the keys once: --jwks-file or --jwks-uri, not both',
  ]);
  t.same(problems({ ...valid, public: true, jwks: JWKS }), [
    'a public client has no credentials: --public cannot go with --jwks-file or --jwks-uri',
  ]);
  t.same(problems({ ...service, jwks: { keys: [{ ...key.jwk, d: 'AAAA' }] } }), [
    "jwks key 1 holds private or symmetric key material ('d'): register public keys only",
  ]);
  t.same(problems({ ...service, jwksUri: 'http://localhost:8080/jwks.json' }), ['jwks_uri must use https']);
  t.equal(
    validateRegistration({ ...service, jwksUri: 'http://localhost:8080/jwks.json' }, { allowLoopbackHttp: true })
      .jwksUri,
    'http://localhost:8080/jwks.json',
    'loopback http with a development issuer',
  );
});

t.test('PROFILE=fapi2: only clients with keys (private_key_jwt, FAPI 2.0 §5.3.2.1)', async (t) => {
  const fapi2 = { keysOnly: true };
  const needKeys =
    'this server runs PROFILE=fapi2, where clients authenticate with private_key_jwt only: give --jwks-file or --jwks-uri';
  for (const request of [valid, { ...valid, public: true }]) {
    const err = t.throws(() => validateRegistration(request, fapi2)) as ClientRegistrationError;
    t.ok(err.problems.includes(needKeys), 'a secret client or a public one is refused');
  }
  t.same(validateRegistration({ ...valid, jwks: JWKS }, fapi2).jwks, JWKS, 'a client with keys is registered');
});

t.test('client ids: 128 random bits in base64url, never shaped like a UUID, never starting with "-"', async (t) => {
  const ids = new Set(Array.from({ length: 2000 }, generateClientId));
  t.equal(ids.size, 2000);
  for (const id of ids) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id)) t.fail(`unexpected id ${id}`);
  }
  t.pass('all well-formed');
});

// Database tests: in-process first, then the command as a process (embedded, the folder has one opener,
// so the app is closed before the commands run).
const env = await createEnvironment(t);
const app = await env.build();

t.test(
  'a confidential client: only the SHA-256 of its secret is stored, and it can use the flow with that secret',
  async (t) => {
    const registered = await registerClient(app.prisma, { ...valid, redirectUris: ['http://localhost:3000/callback'] });
    t.match(registered.clientSecret, /^[A-Za-z0-9_-]{43}$/, '256-bit secret');
    const row = await app.prisma.client.findUniqueOrThrow({ where: { id: registered.clientId } });
    t.equal(row.secretHash, createHash('sha256').update(registered.clientSecret!).digest('hex'));
    t.ok(clientSecretMatches(registered.clientSecret!, row.secretHash));
    t.same(
      [row.name, row.redirectUris, row.grantTypes, row.allowedScopes],
      [valid.name, ['http://localhost:3000/callback'], valid.grantTypes, valid.scopes],
    );

    const redirect = 'http://localhost:3000/callback';
    const { code, verifier } = await obtainCode(app, {
      params: { client_id: registered.clientId, redirect_uri: redirect, scope: 'photos:read' },
    });
    const form = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect };
    const wrong = await tokenRequest(app, form, { basic: [registered.clientId, `${registered.clientSecret}x`] });
    t.equal(wrong.statusCode, 401);
    t.equal(wrong.json().error, 'invalid_client');
    const ok = await tokenRequest(app, form, { basic: [registered.clientId, registered.clientSecret!] });
    t.equal(ok.statusCode, 200, 'the printed secret authenticates the client');
    t.equal(ok.json().scope, 'photos:read');
  },
);

t.test('a public client has no secret; an invalid request stores nothing', async (t) => {
  const before = await app.prisma.client.count();
  const registered = await registerClient(app.prisma, { ...valid, public: true });
  t.equal(registered.clientSecret, null);
  t.equal((await app.prisma.client.findUniqueOrThrow({ where: { id: registered.clientId } })).secretHash, null);
  await t.rejects(registerClient(app.prisma, { ...valid, scopes: ['nope'] }), ClientRegistrationError);
  t.equal(await app.prisma.client.count(), before + 1);
  const listed = await listClients(app.prisma);
  t.match(
    listed.find((c) => c.clientId === registered.clientId),
    { type: 'public', name: valid.name, registration: 'operator' },
  );
  t.equal(listed.find((c) => c.clientId === 'demo-client')?.type, 'confidential');
  for (const c of listed) t.notOk('secretHash' in c, 'no hashes listed');
});

t.test('--require-par and --dpop-bound-access-tokens are stored and listed', async (t) => {
  const strict = await registerClient(app.prisma, { ...valid, requirePar: true, dpopBoundAccessTokens: true });
  t.match(await app.clients.findById(strict.clientId), {
    requirePushedAuthorizationRequests: true,
    dpopBoundAccessTokens: true,
  });
  const plain = await registerClient(app.prisma, valid);
  t.match(await app.clients.findById(plain.clientId), {
    requirePushedAuthorizationRequests: false,
    dpopBoundAccessTokens: false,
  });
  const listed = await listClients(app.prisma);
  t.match(
    listed.find((c) => c.clientId === strict.clientId),
    {
      requirePushedAuthorizationRequests: true,
      dpopBoundAccessTokens: true,
    },
  );
});

t.test('a private_key_jwt client: no secret, its keys and method stored, listed as confidential', async (t) => {
  const registered = await registerClient(app.prisma, {
    name: 'Key Batch',
    grantTypes: ['client_credentials'],
    scopes: ['photos:read'],
    jwks: JWKS,
  });
  t.equal(registered.clientSecret, null);
  const row = await app.prisma.client.findUniqueOrThrow({ where: { id: registered.clientId } });
  t.match(row, { secretHash: null, tokenEndpointAuthMethod: 'private_key_jwt', jwks: JWKS, jwksUri: null });
  const byUri = await registerClient(app.prisma, {
    name: 'Key Batch 2',
    grantTypes: ['client_credentials'],
    scopes: ['photos:read'],
    jwksUri: 'https://batch.example/jwks.json',
  });
  const listed = await listClients(app.prisma);
  t.match(
    listed.find((c) => c.clientId === registered.clientId),
    { type: 'confidential', authMethod: 'private_key_jwt', keys: 1 },
  );
  t.match(
    listed.find((c) => c.clientId === byUri.clientId),
    { type: 'confidential', authMethod: 'private_key_jwt', jwksUri: 'https://batch.example/jwks.json' },
  );
  t.equal(listed.find((c) => c.clientId === 'demo-client')?.authMethod, null);
});

t.test('npm run clients: register prints the id and the secret once; bad input exits 2 with the reasons', async (t) => {
  await app.close();
  const cliEnv = { ...env.backendEnv, LOG_LEVEL: 'silent' };

  const registered = await runCli(
    'clients',
    [
      'register',
      '--name',
      'Night Batch',
      '--grant',
      'client_credentials',
      '--scope',
      'documents:read',
      '--scope',
      'photos:read',
    ],
    cliEnv,
  );
  t.equal(registered.code, 0, registered.stderr);
  const clientId = /^client_id: +(\S+)$/m.exec(registered.stdout)?.[1];
  const secret = /^client_secret: +(\S+)$/m.exec(registered.stdout)?.[1];
  t.match(clientId, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  t.match(secret, /^[A-Za-z0-9_-]{43}$/);
  t.match(registered.stdout, /not shown again/i, 'warns that the secret is shown once');

  const publicClient = await runCli(
    'clients',
    [
      'register',
      '--name',
      'Phone app',
      '--public',
      '--grant',
      'authorization_code',
      '--redirect-uri',
      'http://127.0.0.1:7000/cb',
      '--scope',
      'photos:read',
    ],
    cliEnv,
  );
  t.equal(publicClient.code, 0, publicClient.stderr);
  t.match(publicClient.stdout, /Registered public client "Phone app"/);
  t.notMatch(publicClient.stdout, /client_secret/);

  // private_key_jwt: the keys from a file or a URL, no secret printed.
  const dir = mkdtempSync(join(tmpdir(), 'quartet-jwks-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(JWKS));
  const service = ['register', '--name', 'Key Batch', '--grant', 'client_credentials', '--scope', 'photos:read'];
  const withKeys = await runCli('clients', [...service, '--jwks-file', jwksFile], cliEnv);
  t.equal(withKeys.code, 0, withKeys.stderr);
  t.match(withKeys.stdout, /Registered confidential client "Key Batch" authenticating with private_key_jwt\./);
  t.match(withKeys.stdout, /^keys: +1 \(kid key-1\)$/m);
  t.notMatch(withKeys.stdout, /client_secret/);
  const keyClientId = /^client_id: +(\S+)$/m.exec(withKeys.stdout)?.[1];
  const withUri = await runCli('clients', [...service, '--jwks-uri', 'https://batch.example/jwks.json'], cliEnv);
  t.equal(withUri.code, 0, withUri.stderr);
  t.match(withUri.stdout, /^jwks_uri: +https:\/\/batch\.example\/jwks\.json$/m);
  const unreadable = await runCli('clients', [...service, '--jwks-file', join(dir, 'missing.json')], cliEnv);
  t.equal(unreadable.code, 2);
  t.match(unreadable.stderr, /cannot read --jwks-file .*missing\.json/);

  const bad = await runCli(
    'clients',
    [
      'register',
      '--name',
      'Bad',
      '--public',
      '--grant',
      'client_credentials',
      '--grant',
      'authorization_code',
      '--redirect-uri',
      'http://bad.example/cb#f',
      '--scope',
      'photos:everything',
    ],
    cliEnv,
  );
  t.equal(bad.code, 2);
  t.match(bad.stderr, /cannot register this client/);
  t.match(bad.stderr, /must not contain a fragment/);
  t.match(bad.stderr, /a public client cannot use client_credentials/);
  t.match(bad.stderr, /unknown scope "photos:everything"/);
  t.match(bad.stderr, /Usage: npm run clients/);
  t.equal(bad.stdout, '');

  const unknownOption = await runCli('clients', ['register', '--name', 'x', '--secret', 'mine'], cliEnv);
  t.equal(unknownOption.code, 2);
  t.match(unknownOption.stderr, /Unknown option '--secret'/);
  t.equal((await runCli('clients', [], cliEnv)).code, 2, 'no command');
  const help = await runCli('clients', ['--help'], cliEnv);
  t.equal(help.code, 0);
  t.match(help.stdout, /register --name NAME/);

  const strict = await runCli(
    'clients',
    [
      'register',
      '--name',
      'Strict app',
      '--grant',
      'authorization_code',
      '--redirect-uri',
      'https://strict.example/cb',
      '--scope',
      'photos:read',
      '--require-par',
      '--dpop-bound-access-tokens',
    ],
    cliEnv,
  );
  t.equal(strict.code, 0, strict.stderr);
  t.match(strict.stdout, /requires pushed authorization requests \(RFC 9126\)/);
  t.match(strict.stdout, /requires DPoP at the token endpoint \(RFC 9449\)/);
  const strictId = /^client_id: +(\S+)$/m.exec(strict.stdout)?.[1];

  const list = await runCli('clients', ['list', '--json'], cliEnv);
  t.equal(list.code, 0, list.stderr);
  const clients = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
  t.match(
    clients.find((c) => c.clientId === clientId),
    {
      name: 'Night Batch',
      type: 'confidential',
      registration: 'operator',
      grantTypes: ['client_credentials'],
      scopes: ['documents:read', 'photos:read'],
    },
  );
  t.notOk(
    clients.some((c) => c.name === 'Bad'),
    'the refused client was not stored',
  );
  t.notMatch(list.stdout, new RegExp(secret!), 'the secret is not shown again');
  t.notMatch(list.stdout, /[0-9a-f]{64}/, 'nor its hash');
  const plain = await runCli('clients', ['list'], cliEnv);
  t.match(plain.stdout, new RegExp(`${clientId}\\s+confidential\\s+operator\\s+"Night Batch"`));
  t.match(
    plain.stdout,
    new RegExp(`${keyClientId}\\s+confidential\\s+operator\\s+"Key Batch".*auth: private_key_jwt \\(1 keys\\)`),
  );
  t.match(help.stdout, /--jwks-file FILE/);
  t.match(plain.stdout, new RegExp(`${strictId}\\s.*"Strict app".*  requires PAR  requires DPoP`));
  t.notMatch(plain.stdout, /"Night Batch".*requires/, 'the flags show only where set');

  // The stored hash verifies the printed secret.
  const again = await env.build();
  const row = await again.prisma.client.findUniqueOrThrow({ where: { id: clientId! } });
  t.ok(clientSecretMatches(secret!, row.secretHash), 'the printed secret matches the stored hash');
  t.notOk(clientSecretMatches(`${secret}x`, row.secretHash));
});
