import t from 'tap';
import { signedTraceId } from '@quartet/common';
import { TEST_TRACE_SECRET } from '@quartet/testing';
import { parseBearerChallenge } from '../../../src/oauth/bearer-challenge.js';
import {
  recordAccessToken,
  recordApiRequest,
  recordApiResponse,
  recordFormRequest,
  recordJsonResponse,
} from '../../../src/workshop/inspector/record.js';
import { InspectorStore } from '../../../src/workshop/inspector/store.js';

const newTraceId = () => signedTraceId(TEST_TRACE_SECRET);

const jwt = (header: object, claims: object) =>
  `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2lnbmF0dXJl`;

t.test('recording helpers: arrows, outcomes, countdown, nothing without a recorder', async (t) => {
  const store = new InspectorStore();
  const recorder = store.startFlow('b', newTraceId(), 'flow');
  const header = recordFormRequest(recorder, 'Token request', 'http://as/oauth/token', 'demo-client', {
    grant_type: 'refresh_token',
    refresh_token: 'rt-1234567890',
  });
  t.match(header, new RegExp(`^00-${recorder.traceId}-`));
  recordJsonResponse(recorder, 'Token response', 400, { error: 'invalid_grant', error_description: 'nope' });
  recordJsonResponse(recorder, 'Revocation response', 200, null);
  const token = jwt({ alg: 'ES256' }, { exp: 2_000_000_000 });
  recordAccessToken(recorder, token);
  recordAccessToken(recorder, 'opaque-token-value');
  recordAccessToken(recorder, jwt({ alg: 'ES256' }, { sub: 'no exp' }));
  const api = recordApiRequest(recorder, 'GET', 'http://rs/photos', token);
  t.match(api, /^00-/);
  recordApiResponse(recorder, '/photos', 401, {
    error: 'invalid_token',
    description: 'expired',
    wwwAuthenticate: 'Bearer error="invalid_token"',
  });
  recordApiResponse(recorder, '/photos', 200);
  const steps = recorder.flow.steps;
  t.same(
    steps.map((s) => [s.role, s.to ?? null, s.outcome]),
    [
      ['client', 'authorization server', 'info'],
      ['authorization server', 'client', 'rejected'],
      ['authorization server', 'client', 'ok'],
      ['client', null, 'info'],
      ['client', null, 'info'],
      ['client', null, 'info'],
      ['client', 'resource server', 'info'],
      ['resource server', 'client', 'rejected'],
      ['resource server', 'client', 'ok'],
    ],
  );
  t.equal(steps[1]!.title, 'Token response: 400 invalid_grant');
  t.equal(steps[3]!.expiresAt, 2_000_000_000, 'the countdown target');
  t.match(steps[4]!.detail, /not a JWT/);
  t.notOk(JSON.stringify(steps).includes(token), 'the access token never appears whole');
  t.notOk(JSON.stringify(steps).includes('rt-1234567890'));

  t.equal(recordFormRequest(undefined, 'x', 'http://as', 'c', {}), undefined);
  t.equal(recordApiRequest(undefined, 'GET', 'http://rs/x', 't'), undefined);
  recordJsonResponse(undefined, 'x', 200, null);
  recordAccessToken(undefined, token);
  recordApiResponse(undefined, '/x', 200);

  t.same(parseBearerChallenge('Bearer realm="x", error="insufficient_scope", error_description="needs photos:read"'), {
    error: 'insufficient_scope',
    description: 'needs photos:read',
  });
  t.same(parseBearerChallenge(null), {});
  t.same(parseBearerChallenge('Bearer realm="x"'), {});
});
