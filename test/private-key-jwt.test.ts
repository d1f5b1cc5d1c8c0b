// private_key_jwt (RFC 7523 §2.2, §3) across real processes, driven by an independent client library
// (openid-client, its PrivateKeyJwt client authentication): apps register themselves with a JWK Set of public keys
// (RFC 7591 §2 jwks) and no secret, then run client_credentials and the code + PKCE flow with refresh, the resource
// server accepts their tokens, and introspection and revocation take the assertion too. Refused: an assertion
// replayed (the same jti) and one signed with a key the client did not register.
import t from 'tap';
import * as oidc from 'openid-client';
import { Browser, authorizeAs } from './support/browser.js';
import { failure, loopback, pkceRequest } from './support/oidc.js';
import { startStack } from './support/stack.js';

const INITIAL_TOKEN = 'root-test-initial-access-token-for-keys-0123';
// Never listened on: the code is read off the redirect to it.
const REDIRECT = 'http://127.0.0.1:8798/callback';

t.setTimeout(180_000);

const { urls } = await startStack(t, {
  name: 'pkjwt',
  auth: () => ({ CLIENT_REGISTRATION: 'open', CLIENT_REGISTRATION_TOKEN: INITIAL_TOKEN }),
  client: false,
});
const issuer = new URL(urls.auth);

/** An ES256 key pair (Web Crypto, as openid-client takes it) and its public JWK with a kid. */
async function keyPair(kid: string) {
  const { privateKey, publicKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', publicKey);
  const jwk: Record<string, string> = { kty: kty!, crv: crv!, x: x!, y: y!, kid, alg: 'ES256', use: 'sig' };
  return { privateKey, jwk };
}

const key = await keyPair('key-2026');
const auth = oidc.PrivateKeyJwt({ key: key.privateKey, kid: 'key-2026' });
const withAuth = (config: oidc.Configuration, clientAuth: oidc.ClientAuth) => {
  const other = new oidc.Configuration(config.serverMetadata(), config.clientMetadata().client_id, {}, clientAuth);
  oidc.allowInsecureRequests(other);
  return other;
};

const service = await oidc.dynamicClientRegistration(
  issuer,
  {
    client_name: 'Keyed Backup',
    grant_types: ['client_credentials'],
    scope: 'photos:read',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [key.jwk] },
  },
  auth,
  { ...loopback, initialAccessToken: INITIAL_TOKEN },
);

t.test('discovery names private_key_jwt and its algorithms (RFC 8414 §2)', async (t) => {
  const meta = service.serverMetadata();
  t.ok(meta.token_endpoint_auth_methods_supported?.includes('private_key_jwt'));
  t.ok(meta.token_endpoint_auth_signing_alg_values_supported?.includes('ES256'));
  t.ok(meta.introspection_endpoint_auth_methods_supported?.includes('private_key_jwt'));
  t.ok(meta.revocation_endpoint_auth_methods_supported?.includes('private_key_jwt'));
});

t.test('registered with keys and no secret; client_credentials with PrivateKeyJwt', async (t) => {
  const registered = service.clientMetadata();
  t.match(registered, { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kid: 'key-2026' }] } });
  t.notOk(registered.client_secret, 'no secret issued');
  const tokens = await oidc.clientCredentialsGrant(service, { scope: 'photos:read' });
  t.equal(tokens.scope, 'photos:read');
  const introspected = await oidc.tokenIntrospection(service, tokens.access_token);
  t.match(introspected, { active: true, client_id: registered.client_id, sub: registered.client_id });
  await oidc.tokenRevocation(service, tokens.access_token);
  t.same(await oidc.tokenIntrospection(service, tokens.access_token), { active: false }, 'revoked');
});

t.test('code + PKCE and refresh with PrivateKeyJwt; the resource server accepts the token', async (t) => {
  const web = await oidc.dynamicClientRegistration(
    issuer,
    {
      client_name: 'Keyed Photo Frame',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'photos:read',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [key.jwk] },
    },
    auth,
    loopback,
  );
  const { url, verifier, state } = await pkceRequest(web, { redirect_uri: REDIRECT, scope: 'photos:read' });
  const callback = await authorizeAs(new Browser(), url.toString(), REDIRECT);
  const tokens = await oidc.authorizationCodeGrant(web, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  t.ok(tokens.refresh_token);
  const photos = await fetch(`${urls.resource}/photos`, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  t.equal(photos.status, 200, 'the resource server accepts the token');
  const refreshed = await oidc.refreshTokenGrant(web, tokens.refresh_token!);
  t.ok(refreshed.access_token);
  await oidc.tokenRevocation(web, refreshed.refresh_token!);
  t.same(await oidc.tokenIntrospection(web, refreshed.refresh_token!), { active: false }, 'the grant is revoked');
});

t.test('refused: a replayed assertion (its jti is single use) and a key the client did not register', async (t) => {
  const sameJti = withAuth(
    service,
    oidc.PrivateKeyJwt(
      { key: key.privateKey, kid: 'key-2026' },
      {
        [oidc.modifyAssertion]: (_header, payload) => {
          payload.jti = 'the-same-jti-every-time';
        },
      },
    ),
  );
  await oidc.clientCredentialsGrant(sameJti, { scope: 'photos:read' });
  t.same(await failure(() => oidc.clientCredentialsGrant(sameJti, { scope: 'photos:read' })), {
    status: 401,
    error: 'invalid_client',
    description: 'This client assertion was already used; make a new one (with a new jti) for each request.',
  });

  const thief = await keyPair('key-2026');
  const wrongKey = withAuth(service, oidc.PrivateKeyJwt({ key: thief.privateKey, kid: 'key-2026' }));
  t.same(await failure(() => oidc.clientCredentialsGrant(wrongKey, { scope: 'photos:read' })), {
    status: 401,
    error: 'invalid_client',
    description: 'Client authentication failed.',
  });
  t.same(await failure(() => oidc.tokenIntrospection(wrongKey, 'x')), {
    status: 401,
    error: 'invalid_client',
    description: 'Client authentication failed.',
  });
});
