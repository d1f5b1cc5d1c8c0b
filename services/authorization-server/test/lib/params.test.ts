// Request parameters (src/lib/params.ts): the repeated-parameter rule that the authorization endpoint and the
// form endpoints share.
import t from 'tap';
import { rejectRepeatedParameters } from '../../src/lib/params.js';
import { refuses } from '../oauth/refusals.js';

t.test('a repeated parameter (RFC 6749 §3.1, §3.2)', (t) =>
  refuses(t, () => rejectRepeatedParameters({ scope: ['a', 'b'], code: 'x' }), {
    error: 'invalid_request',
    description: 'Parameter repeated: scope.',
    reason: 'parameter-repeated',
  }),
);

t.test('each parameter once is let through', async (t) => {
  t.doesNotThrow(() => rejectRepeatedParameters({ scope: 'a b', code: 'x' }));
});
