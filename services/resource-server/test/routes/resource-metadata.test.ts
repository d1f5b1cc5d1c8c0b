// GET /.well-known/oauth-protected-resource (RFC 9728 §2, §3): the document, its headers, that it needs no
// token, and that its authorization server is the one whose metadata and keys the RS actually trusts.
import t from 'tap';
import { METADATA_CACHE_CONTROL } from '../../src/routes/resource-metadata.js';
import { RESOURCE_ID, setup } from '../helper.js';

const { app, as } = await setup(t);

t.test('the protected resource metadata (RFC 9728 §2, §3.2)', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(res.json(), {
    resource: RESOURCE_ID,
    authorization_servers: [as.issuer],
    scopes_supported: ['photos:read', 'photos:write', 'documents:read', 'documents:write'],
    bearer_methods_supported: ['header'],
    resource_name: 'Quartet photos and documents',
    // RFC 9449 §7.1 / RFC 9728 §2: the proof algorithms we accept; Bearer still accepted (no DPOP_REQUIRED).
    dpop_signing_alg_values_supported: ['ES256', 'ES384', 'EdDSA', 'Ed25519', 'PS256', 'PS384'],
    dpop_bound_access_tokens_required: false,
  });
  t.equal(res.headers['cache-control'], METADATA_CACHE_CONTROL, 'public document: cacheable, unlike the API');
  t.equal(METADATA_CACHE_CONTROL, 'public, max-age=3600');
});

t.test('no token needed, and a bad one does not matter: it is how a client learns how to get one', async (t) => {
  for (const authorization of ['Bearer not-a-jwt', 'Basic eDp5']) {
    const res = await app.inject({
      method: 'GET',
      url: '/.well-known/oauth-protected-resource',
      headers: { authorization },
    });
    t.equal(res.statusCode, 200, authorization);
    t.equal(res.headers['www-authenticate'], undefined);
  }
  const head = await app.inject({ method: 'HEAD', url: '/.well-known/oauth-protected-resource' });
  t.equal(head.statusCode, 200);
});

t.test('authorization_servers leads to the AS metadata whose issuer the RS verifies tokens against', async (t) => {
  const doc = (await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource' })).json() as {
    authorization_servers: string[];
  };
  const issuer = doc.authorization_servers[0] as string;
  const asMetadata = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()) as {
    issuer: string;
  };
  t.equal(asMetadata.issuer, issuer, 'RFC 8414 §3.3: identical issuer');
  t.equal(app.resourceMetadataUrl, `${RESOURCE_ID}/.well-known/oauth-protected-resource`);
});

t.test('a RESOURCE_ID with a path: metadata at the RFC 9728 §3.1 URL, named in the challenge', async (t) => {
  const resourceId = 'http://localhost:9100/quartet/';
  const { app: pathApp } = await setup(t, { config: { RESOURCE_ID: resourceId } });
  for (const url of ['/.well-known/oauth-protected-resource/quartet', '/.well-known/oauth-protected-resource']) {
    const res = await pathApp.inject({ method: 'GET', url });
    t.equal(res.statusCode, 200, url);
    t.equal(res.json().resource, resourceId, 'exactly as configured');
  }
  const challenge = await pathApp.inject({ method: 'GET', url: '/photos' });
  t.equal(challenge.statusCode, 401);
  t.equal(
    challenge.headers['www-authenticate'],
    'Bearer realm="quartet-resource-server", resource_metadata="http://localhost:9100/.well-known/oauth-protected-resource/quartet", ' +
      'DPoP realm="quartet-resource-server", algs="ES256 ES384 EdDSA Ed25519 PS256 PS384", resource_metadata="http://localhost:9100/.well-known/oauth-protected-resource/quartet"',
  );
});

t.test('DPOP_REQUIRED: the metadata says every token must be DPoP-bound (RFC 9728 §2)', async (t) => {
  const { app: dpopApp } = await setup(t, { config: { DPOP_REQUIRED: true } });
  const res = await dpopApp.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource' });
  t.equal(res.json().dpop_bound_access_tokens_required, true);
  t.same(res.json().bearer_methods_supported, ['header']);
});
