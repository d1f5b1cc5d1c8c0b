// The protocol layer's typed errors: a fixed reason and the data a page needs, never a page text.
import t from 'tap';
import {
  CallbackError,
  ConnectionEndedError,
  RefreshRejectedError,
  ResourceError,
  TokenRequestError,
  UpstreamUnavailableError,
  isNetworkError,
} from '../../src/oauth/errors.js';

t.test('network errors are told apart from answers', async (t) => {
  const timeout = new Error('timed out');
  timeout.name = 'TimeoutError';
  const abort = new Error('aborted');
  abort.name = 'AbortError';
  const cases: [unknown, boolean][] = [
    [new TypeError('fetch failed'), true],
    [timeout, true],
    [abort, true],
    [new TypeError('something else'), false],
    [new Error('fetch failed'), false],
    ['fetch failed', false],
  ];
  for (const [err, expected] of cases) t.equal(isNetworkError(err), expected, String(err));
});

t.test('each error names its reason and carries what the page needs', async (t) => {
  const refused = new CallbackError('authorization-refused', { error: 'invalid_scope', detail: 'no such scope' });
  t.match(refused, { name: 'CallbackError', reason: 'authorization-refused', error: 'invalid_scope' });
  t.equal(refused.detail, 'no such scope');
  t.match(new CallbackError('unknown-state'), { reason: 'unknown-state', error: undefined, detail: undefined });

  const code = new TokenRequestError('code-refused', 'authorization_code', { error: 'invalid_grant' });
  t.match(code, {
    name: 'TokenRequestError',
    reason: 'code-refused',
    grant: 'authorization_code',
    error: 'invalid_grant',
  });
  t.match(new TokenRequestError('unusable-response', 'refresh_token'), { grant: 'refresh_token' });

  t.match(new RefreshRejectedError('invalid_grant'), { reason: 'refresh-rejected', error: 'invalid_grant' });
  t.match(new ConnectionEndedError('no-refresh-token'), { reason: 'no-refresh-token' });
  t.match(new UpstreamUnavailableError('resource server'), { upstream: 'resource server' });

  const scope = new ResourceError('insufficient-scope', { status: 403, scope: 'photos:read' });
  t.match(scope, { name: 'ResourceError', reason: 'insufficient-scope', status: 403, scope: 'photos:read' });
  t.equal(scope.message, 'The access token lacks a required scope (403)');
  t.equal(new ResourceError('not-found').message, 'Not found at the resource server');
});

t.test('no error message carries a token or an upstream body', async (t) => {
  const err = new TokenRequestError('unusable-response', 'authorization_code', {
    detail: 'unexpected JSON',
    cause: new Error('{"access_token":"secret-token"}'),
  });
  t.notMatch(err.message, 'secret-token');
  t.notMatch(err.detail, 'secret-token');
});
