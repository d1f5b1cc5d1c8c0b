// Authorization responses (src/oauth/authorization-response.ts, RFC 6749 §4.1.2, §4.1.2.1; RFC 9207).
import t from 'tap';
import { OAuthError, StorageUnavailableError } from '@quartet/common';
import { authorizationResponseUrl, errorResponseParams } from '../../src/oauth/authorization-response.js';

t.test('the redirect URI keeps its own query; unset parameters are left out (RFC 6749 §3.1.2)', async (t) => {
  t.equal(
    authorizationResponseUrl('http://localhost:3000/callback?tenant=a', {
      code: 'c',
      state: undefined,
      iss: 'http://localhost:9000',
    }),
    'http://localhost:3000/callback?tenant=a&code=c&iss=http%3A%2F%2Flocalhost%3A9000',
  );
});

t.test('an OAuth error is redirected with its own code and description', async (t) => {
  t.same(errorResponseParams(new OAuthError('invalid_scope', 'scope is required.')), {
    error: 'invalid_scope',
    error_description: 'scope is required.',
  });
});

t.test('a storage outage becomes temporarily_unavailable', async (t) => {
  t.same(errorResponseParams(new StorageUnavailableError('redis')), {
    error: 'temporarily_unavailable',
    error_description: 'A storage service is unavailable; try again shortly.',
  });
});

t.test('unexpected errors on the redirect become server_error without details', async (t) => {
  t.same(errorResponseParams(new Error('secret internals')), {
    error: 'server_error',
    error_description: 'An unexpected error occurred.',
  });
});
