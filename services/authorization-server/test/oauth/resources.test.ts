// Resource indicators (src/oauth/resources.ts, RFC 8707 §2), one table row per rule with the exact answer.
import t from 'tap';
import { readResource, requireAuthorizedResource } from '../../src/oauth/resources.js';
import { refuses, type Refusal } from './refusals.js';

const KNOWN = ['http://localhost:9100', 'http://localhost:9200'];

const rows: [string, () => unknown, Refusal][] = [
  [
    'two resources (one audience per token)',
    () => readResource({ resource: KNOWN }, KNOWN),
    {
      error: 'invalid_target',
      description: 'Only one resource per request is supported.',
      reason: 'resource-repeated',
    },
  ],
  [
    'a relative resource',
    () => readResource({ resource: '/api' }, KNOWN),
    {
      error: 'invalid_target',
      description: 'resource must be an absolute URI (RFC 8707 section 2).',
      reason: 'resource-malformed',
    },
  ],
  [
    'a resource with a fragment',
    () => readResource({ resource: 'http://localhost:9100#x' }, KNOWN),
    {
      error: 'invalid_target',
      description: 'resource must not contain a fragment (RFC 8707 section 2).',
      reason: 'resource-fragment',
    },
  ],
  [
    'an unknown resource',
    () => readResource({ resource: 'http://elsewhere.example' }, KNOWN),
    { error: 'invalid_target', description: 'Unknown resource: http://elsewhere.example.', reason: 'resource-unknown' },
  ],
  [
    'a resource the grant does not cover (RFC 8707 §2.2)',
    () => requireAuthorizedResource('http://localhost:9200', 'http://localhost:9100'),
    {
      error: 'invalid_target',
      description: 'This grant does not cover the resource http://localhost:9200.',
      reason: 'resource-not-granted',
    },
  ],
];

for (const [name, run, expected] of rows) t.test(name, (t) => refuses(t, run, expected));

t.test('what the checks let through', async (t) => {
  t.equal(readResource({}, KNOWN), undefined, 'none named');
  t.equal(readResource({ resource: '' }, KNOWN), undefined, 'empty is none');
  t.equal(readResource({ resource: 'http://localhost:9200' }, KNOWN), 'http://localhost:9200');
  t.equal(requireAuthorizedResource(undefined, 'http://localhost:9100'), 'http://localhost:9100');
  t.equal(requireAuthorizedResource('http://localhost:9100', 'http://localhost:9100'), 'http://localhost:9100');
});
