// RFC 9728 §3.1: where the metadata of a resource identifier lives, and the §2 document itself.
import t from 'tap';
import {
  externalUrl,
  protectedResourceMetadata,
  resourceMetadataPaths,
  resourceMetadataUrl,
} from '../../src/lib/resource-metadata.js';

t.test('the well-known path goes between host and path; a terminating slash is dropped (RFC 9728 §3.1)', async (t) => {
  t.equal(resourceMetadataUrl('http://localhost:9100'), 'http://localhost:9100/.well-known/oauth-protected-resource');
  t.equal(resourceMetadataUrl('http://localhost:9100/'), 'http://localhost:9100/.well-known/oauth-protected-resource');
  t.equal(
    resourceMetadataUrl('https://api.example.com/quartet'),
    'https://api.example.com/.well-known/oauth-protected-resource/quartet',
  );
  t.equal(
    resourceMetadataUrl('https://api.example.com/quartet/v1/'),
    'https://api.example.com/.well-known/oauth-protected-resource/quartet/v1',
  );
  t.equal(
    resourceMetadataUrl('https://api.example.com:8443'),
    'https://api.example.com:8443/.well-known/oauth-protected-resource',
  );
});

t.test('paths served: the §3.1 path, and the bare one when the identifier has a path', async (t) => {
  t.same(resourceMetadataPaths('http://localhost:9100/'), ['/.well-known/oauth-protected-resource']);
  t.same(resourceMetadataPaths('https://api.example.com/quartet/'), [
    '/.well-known/oauth-protected-resource/quartet',
    '/.well-known/oauth-protected-resource',
  ]);
});

t.test('resource is the identifier exactly as configured (RFC 9728 §3.3 compares it byte for byte)', async (t) => {
  const doc = protectedResourceMetadata({
    resourceId: 'http://localhost:9100/',
    authorizationServer: 'http://localhost:9000',
    dpopRequired: false,
    dpopAlgorithms: ['ES256'],
  });
  t.equal(doc.resource, 'http://localhost:9100/');
  t.same(doc.authorization_servers, ['http://localhost:9000']);
});

t.test('the external URL of a request (DPoP htu, RFC 9449 §4.3): RESOURCE_ID, then our path and query', async (t) => {
  t.equal(externalUrl('http://localhost:9100', '/photos?x=1'), 'http://localhost:9100/photos?x=1');
  t.equal(externalUrl('http://localhost:9100/', '/photos'), 'http://localhost:9100/photos');
  t.equal(externalUrl('https://api.example/quartet/', '/photos/1'), 'https://api.example/quartet/photos/1');
});
