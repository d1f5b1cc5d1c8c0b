import t from 'tap';
import { OAuthError, StorageUnavailableError, guardStorage, isStorageOutage } from '../src/index.js';

t.test('OAuthError carries the RFC 6749 code, description and default status', async (t) => {
  const e = new OAuthError('invalid_client', 'Client authentication failed.');
  t.equal(e.status, 401);
  t.same(e.toJSON(), { error: 'invalid_client', error_description: 'Client authentication failed.' });
  t.equal(new OAuthError('invalid_grant', 'x').status, 400);
  t.equal(new OAuthError('insufficient_scope', 'x').status, 403);
});

t.test('isStorageOutage recognises connection failures through the cause chain', async (t) => {
  t.ok(isStorageOutage(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })));
  t.ok(isStorageOutage(new Error('wrapped', { cause: { kind: 'DatabaseNotReachable' } })));
  t.ok(isStorageOutage({ code: 'P1001' }));
  t.ok(isStorageOutage({ code: '57P01' }));
  t.notOk(isStorageOutage({ code: 'P2002' }), 'a unique-constraint violation is not an outage');
  t.notOk(isStorageOutage(new Error('boom')));
});

t.test('guardStorage converts outages and passes other errors through', async (t) => {
  await t.rejects(
    guardStorage('redis', async () => {
      throw Object.assign(new Error('x'), { code: 'ECONNRESET' });
    }),
    StorageUnavailableError,
  );
  await t.rejects(
    guardStorage('redis', async () => {
      throw new TypeError('bug');
    }),
    TypeError,
  );
  t.equal(await guardStorage('redis', async () => 42), 42);
});
