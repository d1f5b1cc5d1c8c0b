// The form endpoints' shared steps (src/oauth/form-endpoint.ts): reading the form, and telling subscribers
// of every OAuth refusal (`check.failed`) without changing it.
import t from 'tap';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OAuthError, ProtocolEvents } from '@quartet/common';
import type { AuthorizationServerEvents } from '../../src/domain/events.js';
import { readForm, reportingFailures } from '../../src/oauth/form-endpoint.js';
import { refuses } from './refusals.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

t.test('readForm: a form body with no repeated parameter (RFC 6749 §3.2)', async (t) => {
  t.same(readForm(FORM, { grant_type: 'client_credentials' }), { grant_type: 'client_credentials' });
  await refuses(t, () => readForm({ 'content-type': 'application/json' }, {}), {
    error: 'invalid_request',
    description: 'The token request must be sent as application/x-www-form-urlencoded.',
    reason: 'form-body-required',
  });
  await refuses(t, () => readForm(FORM, { scope: ['a', 'b'] }), {
    error: 'invalid_request',
    description: 'Parameter repeated: scope.',
    reason: 'parameter-repeated',
  });
});

t.test('reportingFailures: an OAuthError is told with what is known, then rethrown as it was', async (t) => {
  const events = new ProtocolEvents<AuthorizationServerEvents>();
  const seen: AuthorizationServerEvents['check.failed'][] = [];
  events.on('check.failed', (payload) => seen.push(payload));
  const app = { events } as unknown as FastifyInstance;
  const request = {} as FastifyRequest;
  const refusal = new OAuthError('invalid_grant', 'no', { reason: 'pkce-mismatch' });
  const context = { clientId: 'demo-client' };
  await t.rejects(
    reportingFailures(app, request, '/oauth/token', context, async () => {
      Object.assign(context, { grantType: 'authorization_code' });
      throw refusal;
    }),
    refusal,
  );
  t.same(seen, [
    {
      request,
      endpoint: '/oauth/token',
      clientId: 'demo-client',
      grantType: 'authorization_code',
      error: 'invalid_grant',
      reason: 'pkce-mismatch',
    },
  ]);
  await t.rejects(
    reportingFailures(app, request, '/oauth/revoke', {}, async () => {
      throw new Error('storage down');
    }),
    /storage down/,
  );
  t.equal(seen.length, 1, 'other errors are not refusals of a check');
  t.equal(await reportingFailures(app, request, '/oauth/introspect', {}, async () => 'answer'), 'answer');
});
