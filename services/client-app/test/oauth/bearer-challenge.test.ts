import t from 'tap';
import { parseBearerChallenge } from '../../src/oauth/bearer-challenge.js';

t.test('error and error_description are read from a Bearer challenge (RFC 6750 §3)', async (t) => {
  const cases: [string | null, { error?: string; description?: string }][] = [
    [null, {}],
    ['Bearer realm="quartet"', {}],
    ['Bearer realm="quartet", error="invalid_token"', { error: 'invalid_token' }],
    [
      'Bearer realm="quartet", error="invalid_token", error_description="The access token expired"',
      { error: 'invalid_token', description: 'The access token expired' },
    ],
    ['Bearer error="insufficient_scope", scope="photos:read"', { error: 'insufficient_scope' }],
    ['Bearer error_description="only a description"', { description: 'only a description' }],
  ];
  for (const [header, expected] of cases) t.same(parseBearerChallenge(header), expected, String(header));
});
