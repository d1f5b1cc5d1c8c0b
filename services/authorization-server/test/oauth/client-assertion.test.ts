// private_key_jwt (src/oauth/client-assertion.ts, client-authentication.ts; RFC 7521 §4.2, RFC 7523 §2.2, §3): every
// refusal as a table row with the exact answer, then what passes — the audiences, the algorithms, several keys,
// the clock leeway, single use of the jti per client.
import t from 'tap';
import type { ReplayGuard } from '@quartet/common';
import type { ClientRecord } from '../../src/domain/records.js';
import { isPublicClient } from '../../src/domain/records.js';
import { ClientAssertionVerifier, type ClientAssertionSettings } from '../../src/oauth/client-assertion.js';
import { ClientKeySource } from '../../src/oauth/client-keys.js';
import {
  authenticateClient,
  readClientCredentials,
  requireAcceptedMethod,
} from '../../src/oauth/client-authentication.js';
import type { ClientRepository } from '../../src/stores/clients.js';
import { refuses, type Refusal } from './refusals.js';
import { CONFIDENTIAL, PUBLIC, SECRET } from './client-fixtures.js';
import {
  JWT_BEARER,
  assertionForm,
  clientAssertion,
  clientKey,
  unsecuredAssertion,
} from '../client-assertion-fixtures.js';

const ISSUER = 'http://localhost:9000';
const TOKEN_URL = `${ISSUER}/oauth/token`;
const NOW = 1_900_000_000;

const key = await clientKey('ES256', 'k1');
const stranger = await clientKey('ES256', 'k1');
const KEY_CLIENT: ClientRecord = {
  ...CONFIDENTIAL,
  id: 'key-client',
  secretHash: null,
  grantTypes: ['client_credentials'],
  registration: 'dynamic',
  tokenEndpointAuthMethod: 'private_key_jwt',
  jwks: { keys: [key.jwk] },
};
const clients = {
  findById: async (id: string) => [CONFIDENTIAL, PUBLIC, KEY_CLIENT].find((c) => c.id === id) ?? null,
} as unknown as ClientRepository;

/** A replay guard in memory: the first use of a key is true. */
function memoryGuard(): ReplayGuard & { keys: Map<string, number> } {
  const keys = new Map<string, number>();
  return {
    keys,
    firstUse: async (k, ttl) => {
      if (keys.has(k)) return false;
      keys.set(k, ttl);
      return true;
    },
  };
}

function verifierWith(settings: Partial<ClientAssertionSettings> = {}, guard = memoryGuard()) {
  return new ClientAssertionVerifier(new ClientKeySource({ allowLoopbackHttp: true }), guard, {
    issuer: ISSUER,
    maxLifetimeSeconds: 300,
    now: () => NOW * 1000,
    ...settings,
  });
}

/** The whole of client authentication for a form (and an Authorization header), as the endpoints run it. */
function authenticate(
  params: Record<string, string>,
  options: { authorization?: string; verifier?: ClientAssertionVerifier; endpointUrl?: string } = {},
) {
  return (async () =>
    authenticateClient(clients, readClientCredentials(options.authorization, params), {
      verifier: options.verifier ?? verifierWith(),
      endpointUrl: 'endpointUrl' in options ? options.endpointUrl : TOKEN_URL,
    }))();
}

const sign = (options: Parameters<typeof clientAssertion>[3] = {}, clientId = 'key-client') =>
  clientAssertion(key, clientId, ISSUER, { now: NOW, ...options });
const withAssertion = async (options: Parameters<typeof clientAssertion>[3] = {}, extra = {}) =>
  assertionForm(await sign(options), extra);

const request = (description: string, reason: string): Refusal => ({ error: 'invalid_request', description, reason });
const refused = (description: string, reason: string): Refusal => ({
  error: 'invalid_client',
  description,
  reason,
  status: 401,
});
const notProved = (reason: string) => refused('Client authentication failed.', reason);
const basic = `Basic ${Buffer.from(`key-client:${SECRET}`).toString('base64')}`;
const ALGS = 'ES256, ES384, PS256, PS384, EdDSA, Ed25519';

const rows: [string, () => Promise<Record<string, string>>, Refusal, Parameters<typeof authenticate>[1]?][] = [
  [
    'client_assertion without client_assertion_type (RFC 7521 §4.2)',
    async () => ({ client_assertion: await sign() }),
    request('client_assertion needs client_assertion_type.', 'client-assertion-type-missing'),
  ],
  [
    'another client_assertion_type (RFC 6749 §5.2: an unsupported value)',
    async () => ({ client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' }),
    request(`client_assertion_type must be ${JWT_BEARER}.`, 'client-assertion-type-unsupported'),
  ],
  [
    'client_assertion_type without client_assertion',
    async () => ({ client_assertion_type: JWT_BEARER }),
    request('client_assertion_type needs a client_assertion.', 'client-assertion-missing'),
  ],
  [
    'an assertion and the Basic header (RFC 6749 §2.3: one method)',
    () => withAssertion(),
    request(
      'Use only one client authentication method (Basic header or client_assertion, not both).',
      'invalid_request',
    ),
    { authorization: basic },
  ],
  [
    'an assertion and client_secret',
    () => withAssertion({}, { client_secret: SECRET }),
    request(
      'Use only one client authentication method (client_secret or client_assertion, not both).',
      'invalid_request',
    ),
  ],
  [
    'not a JWT',
    async () => assertionForm('not-a-jwt'),
    refused('The client assertion is not a signed JWT.', 'client-assertion-malformed'),
  ],
  [
    'without sub (RFC 7523 §3 item 2)',
    () => withAssertion({ omit: ['sub'] }),
    refused(
      'The client assertion needs iss and sub, both the client_id (RFC 7523 section 3).',
      'client-assertion-issuer-missing',
    ),
  ],
  [
    'iss other than sub (RFC 7523 §3 items 1-2)',
    () => withAssertion({ claims: { iss: 'someone-else' } }),
    refused(
      'The client assertion must have iss equal to sub: both are the client_id.',
      'client-assertion-issuer-mismatch',
    ),
  ],
  [
    'a client_id beside it naming another client (RFC 7521 §4.2)',
    () => withAssertion({}, { client_id: 'demo-client' }),
    refused("client_id differs from the client assertion's iss and sub.", 'client-assertion-client-id-mismatch'),
  ],
  [
    'alg none (RFC 8725 §3.1)',
    async () => assertionForm(unsecuredAssertion('key-client', ISSUER, { now: NOW })),
    refused(`The client assertion must be signed with one of ${ALGS}.`, 'client-assertion-alg'),
  ],
  [
    'HS256, a MAC (client_secret_jwt is not offered)',
    async () => assertionForm(await sign({ header: { alg: 'HS256' }, signWith: new TextEncoder().encode(SECRET) })),
    refused(`The client assertion must be signed with one of ${ALGS}.`, 'client-assertion-alg'),
  ],
  [
    'RS256 (not on the allow-list: FAPI 2.0 allows PS256)',
    async () => {
      const rsa = await clientKey('RS256', 'k1');
      return assertionForm(await clientAssertion(rsa, 'key-client', ISSUER, { now: NOW }));
    },
    refused(`The client assertion must be signed with one of ${ALGS}.`, 'client-assertion-alg'),
  ],
  [
    'aud another server (RFC 7523 §3 item 3)',
    async () => assertionForm(await clientAssertion(key, 'key-client', 'https://other.example', { now: NOW })),
    refused(
      `The client assertion's aud must be this server's issuer identifier, ${ISSUER} (or ${TOKEN_URL}).`,
      'client-assertion-audience',
    ),
  ],
  [
    'aud an array without this server',
    async () =>
      assertionForm(await clientAssertion(key, 'key-client', ['https://a.example', 'https://b.example'], { now: NOW })),
    refused(
      `The client assertion's aud must be this server's issuer identifier, ${ISSUER} (or ${TOKEN_URL}).`,
      'client-assertion-audience',
    ),
  ],
  [
    'aud another endpoint of this server',
    async () => assertionForm(await clientAssertion(key, 'key-client', `${ISSUER}/oauth/revoke`, { now: NOW })),
    refused(
      `The client assertion's aud must be this server's issuer identifier, ${ISSUER} (or ${TOKEN_URL}).`,
      'client-assertion-audience',
    ),
  ],
  [
    'aud the endpoint URL where only the issuer is accepted (FAPI 2.0)',
    async () => assertionForm(await clientAssertion(key, 'key-client', TOKEN_URL, { now: NOW })),
    refused(
      `The client assertion's aud must be this server's issuer identifier, ${ISSUER}.`,
      'client-assertion-audience',
    ),
    { verifier: verifierWith({ endpointAudience: false }) },
  ],
  [
    'without exp (RFC 7523 §3 item 4)',
    () => withAssertion({ omit: ['exp'] }),
    refused('The client assertion needs a numeric exp claim.', 'client-assertion-exp-missing'),
  ],
  [
    'expired beyond the 5 s leeway',
    () => withAssertion({ claims: { iat: NOW - 65, exp: NOW - 5 } }),
    refused('The client assertion has expired; make a new one for each request.', 'client-assertion-expired'),
  ],
  [
    'nbf in the future (RFC 7523 §3 item 5)',
    () => withAssertion({ claims: { nbf: NOW + 30 } }),
    refused('The client assertion is not valid yet (nbf); check the clock.', 'client-assertion-nbf'),
  ],
  [
    'iat in the future',
    () => withAssertion({ claims: { iat: NOW + 30, exp: NOW + 60 } }),
    refused('The client assertion was issued in the future (iat); check the clock.', 'client-assertion-iat'),
  ],
  [
    'valid for longer than CLIENT_ASSERTION_MAX_LIFETIME (exp - iat)',
    () => withAssertion({ claims: { exp: NOW + 301 } }),
    refused('The client assertion may be valid for at most 300 seconds (exp - iat).', 'client-assertion-lifetime'),
  ],
  [
    'without iat, valid for longer than that from now (plus the leeway)',
    () => withAssertion({ omit: ['iat'], claims: { exp: NOW + 306 } }),
    refused('The client assertion may be valid for at most 300 seconds (exp - iat).', 'client-assertion-lifetime'),
  ],
  [
    'without jti (required, as OpenID Connect Core §9 does)',
    () => withAssertion({ omit: ['jti'] }),
    refused('The client assertion needs a jti of 1-256 characters.', 'client-assertion-jti-missing'),
  ],
  [
    'a jti of 257 characters',
    () => withAssertion({ claims: { jti: 'j'.repeat(257) } }),
    refused('The client assertion needs a jti of 1-256 characters.', 'client-assertion-jti-missing'),
  ],
  [
    'an unknown client: exactly like a wrong secret',
    async () => assertionForm(await sign({}, 'nobody')),
    notProved('client-authentication-failed'),
  ],
  [
    'a secret client cannot switch to private_key_jwt (it registered no keys)',
    async () => assertionForm(await sign({}, 'demo-client')),
    notProved('client-assertion-no-keys'),
  ],
  [
    'a public client has no keys either',
    async () => assertionForm(await sign({}, 'workshop-cli')),
    notProved('client-assertion-no-keys'),
  ],
  [
    'signed by another key under the registered kid',
    () => withAssertion({ signWith: stranger.privateKey }),
    notProved('client-assertion-signature'),
  ],
  [
    'a kid the client did not register',
    () => withAssertion({ header: { kid: 'k2' } }),
    notProved('client-assertion-unknown-key'),
  ],
  [
    'a private_key_jwt client presenting a secret instead',
    async () => ({ client_id: 'key-client', client_secret: SECRET }),
    notProved('client-authentication-failed'),
  ],
  [
    'a private_key_jwt client presenting nothing (as a public client would)',
    async () => ({ client_id: 'key-client' }),
    notProved('client-authentication-failed'),
  ],
];

for (const [name, form, expected, options] of rows)
  t.test(name, async (t) => {
    const params = await form();
    await refuses(t, () => authenticate(params, options), expected);
  });

t.test('a replayed assertion: its jti is single use until exp (RFC 7523 §3 item 7)', async (t) => {
  const guard = memoryGuard();
  const verifier = verifierWith({}, guard);
  const params = await withAssertion();
  t.equal((await authenticate(params, { verifier })).id, 'key-client');
  await refuses(
    t,
    () => authenticate(params, { verifier }),
    refused(
      'This client assertion was already used; make a new one (with a new jti) for each request.',
      'client-assertion-replayed',
    ),
  );
  t.same([...guard.keys.values()], [65], 'remembered until exp (60 s) plus the 5 s leeway');
  t.equal([...guard.keys.keys()][0]!.length, 43, 'a fixed-length key: the hash of client and jti');
  // Another client may use the same jti: the guard is per client.
  const second = { ...KEY_CLIENT, id: 'key-client-2' };
  const both = { findById: async (id: string) => [KEY_CLIENT, second].find((c) => c.id === id) ?? null };
  const jti = 'shared-jti';
  for (const id of ['key-client', 'key-client-2'])
    t.equal(
      (
        await authenticateClient(
          both as unknown as ClientRepository,
          readClientCredentials(undefined, assertionForm(await sign({ claims: { jti } }, id))),
          { verifier, endpointUrl: TOKEN_URL },
        )
      ).id,
      id,
    );
});

t.test('a refused assertion takes no place in the replay guard', async (t) => {
  const guard = memoryGuard();
  const verifier = verifierWith({}, guard);
  await authenticate(await withAssertion({ signWith: stranger.privateKey }), { verifier }).catch(() => {});
  await authenticate(await withAssertion({ claims: { aud: 'https://other.example' } }), { verifier }).catch(() => {});
  t.equal(guard.keys.size, 0);
});

t.test('what is accepted: aud forms, leeway, the client_id beside it', async (t) => {
  const ok = async (form: Record<string, string>, options: Parameters<typeof authenticate>[1] = {}) =>
    t.equal((await authenticate(form, options)).id, 'key-client');
  await ok(await withAssertion());
  await ok(await withAssertion({}, { client_id: 'key-client' }));
  await ok(assertionForm(await clientAssertion(key, 'key-client', [ISSUER, 'https://x.example'], { now: NOW })));
  await ok(assertionForm(await clientAssertion(key, 'key-client', TOKEN_URL, { now: NOW })), {});
  await ok(await withAssertion({ claims: { iat: NOW - 64, exp: NOW - 4 } }), {});
  await ok(await withAssertion({ claims: { exp: NOW + 300 } }), {});
  await ok(await withAssertion({ claims: { nbf: NOW + 4 } }), {});
  await ok(await withAssertion({ omit: ['iat'], claims: { exp: NOW + 305 } }), {});
  // The issuer is accepted wherever the assertion is presented, and where no endpoint is named.
  await ok(await withAssertion(), { endpointUrl: undefined });
  await ok(await withAssertion(), { verifier: verifierWith({ endpointAudience: false }) });
  const read = readClientCredentials(undefined, await withAssertion());
  t.match(read, { method: 'private_key_jwt', clientId: 'key-client' });
  t.notOk('secret' in read);
});

t.test('FAPI 2.0 settings: aud only the issuer as a string, fewer algorithms (§5.3.2.1, §5.4.1)', async (t) => {
  const fapi2 = verifierWith({
    endpointAudience: false,
    issuerStringAudience: true,
    algorithms: ['ES256', 'PS256', 'EdDSA', 'Ed25519'],
  });
  const audience = refused(
    `The client assertion's aud must be this server's issuer identifier as a string, ${ISSUER}.`,
    'client-assertion-audience',
  );
  for (const aud of [TOKEN_URL, [ISSUER], [ISSUER, 'https://x.example']]) {
    const params = assertionForm(await clientAssertion(key, 'key-client', aud, { now: NOW }));
    await refuses(t, () => authenticate(params, { verifier: fapi2 }), audience);
  }
  const es384 = await clientKey('ES384', 'k1');
  const params = assertionForm(await clientAssertion(es384, 'key-client', ISSUER, { now: NOW }));
  await refuses(
    t,
    () => authenticate(params, { verifier: fapi2 }),
    refused('The client assertion must be signed with one of ES256, PS256, EdDSA, Ed25519.', 'client-assertion-alg'),
  );
  t.equal((await authenticate(await withAssertion(), { verifier: fapi2 })).id, 'key-client', 'aud = issuer');
});

t.test('requireAcceptedMethod: a method the server does not accept, refused before any client is read', async (t) => {
  const onlyKeys = ['private_key_jwt'] as const;
  const refusal = refused(
    'This server accepts client authentication with private_key_jwt only.',
    'client-authentication-method-not-accepted',
  );
  await refuses(t, async () => requireAcceptedMethod(readClientCredentials(basic, {}), onlyKeys), {
    ...refusal,
    headers: { 'www-authenticate': 'Basic realm="quartet"' },
  });
  for (const form of [{ client_id: 'x', client_secret: SECRET }, { client_id: 'x' }])
    await refuses(t, async () => requireAcceptedMethod(readClientCredentials(undefined, form), onlyKeys), refusal);
  t.doesNotThrow(() => requireAcceptedMethod(readClientCredentials(undefined, { client_id: 'x' }), ['none']));
});

t.test('each allowed algorithm, several keys with or without kid', async (t) => {
  for (const alg of ['ES256', 'ES384', 'PS256', 'PS384', 'EdDSA', 'Ed25519']) {
    const k = await clientKey(alg, `kid-${alg}`);
    const client: ClientRecord = { ...KEY_CLIENT, id: `alg-${alg}`, jwks: { keys: [key.jwk, k.jwk] } };
    const repo = { findById: async () => client } as unknown as ClientRepository;
    const jwt = await clientAssertion(k, client.id, ISSUER, { now: NOW });
    const found = await authenticateClient(repo, readClientCredentials(undefined, assertionForm(jwt)), {
      verifier: verifierWith(),
    });
    t.equal(found.id, client.id, alg);
  }
  // No kid, and two keys that fit the alg: each is tried (jose's JWKSMultipleMatchingKeys).
  const second = await clientKey('ES256', 'k2');
  const noKids: ClientRecord = {
    ...KEY_CLIENT,
    jwks: {
      keys: [
        { ...key.jwk, kid: undefined },
        { ...second.jwk, kid: undefined },
      ],
    },
  };
  const repo = { findById: async () => noKids } as unknown as ClientRepository;
  for (const k of [key, second]) {
    const jwt = await clientAssertion(k, 'key-client', ISSUER, { now: NOW, header: { kid: undefined } });
    const found = await authenticateClient(repo, readClientCredentials(undefined, assertionForm(jwt)), {
      verifier: verifierWith(),
    });
    t.equal(found.id, 'key-client', `key ${k.jwk.kid}`);
  }
  const jwt = await clientAssertion(stranger, 'key-client', ISSUER, { now: NOW, header: { kid: undefined } });
  await refuses(
    t,
    () => authenticateClient(repo, readClientCredentials(undefined, assertionForm(jwt)), { verifier: verifierWith() }),
    notProved('client-assertion-signature'),
  );
});

t.test('without the assertion context private_key_jwt proves nothing', async (t) => {
  await refuses(
    t,
    async () => authenticateClient(clients, readClientCredentials(undefined, await withAssertion())),
    notProved('client-authentication-failed'),
  );
});

t.test('a private_key_jwt client is confidential; a client without credentials is public', async (t) => {
  t.equal(isPublicClient(KEY_CLIENT), false);
  t.equal(isPublicClient({ ...KEY_CLIENT, jwks: null, jwksUri: 'https://app.example/jwks.json' }), false);
  t.equal(isPublicClient({ secretHash: null, tokenEndpointAuthMethod: 'private_key_jwt' }), false);
  t.equal(isPublicClient(CONFIDENTIAL), false);
  t.equal(isPublicClient(PUBLIC), true);
  t.equal(isPublicClient({ secretHash: null, tokenEndpointAuthMethod: 'none', jwks: null, jwksUri: null }), true);
});
