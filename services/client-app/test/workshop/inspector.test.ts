import { createHash } from 'node:crypto';
import t from 'tap';
import { parseBearerChallenge } from '../../src/oauth/bearer-challenge.js';
import {
  accessTokenSections,
  authorizationRequestSections,
  decodeJwt,
  formRequestSections,
  jsonResponseSections,
  maskedBasic,
  shorten,
} from '../../src/workshop/inspector/present.js';
import {
  recordAccessToken,
  recordApiRequest,
  recordApiResponse,
  recordFormRequest,
  recordJsonResponse,
} from '../../src/workshop/inspector/record.js';
import { InspectorStore } from '../../src/workshop/inspector/store.js';
import { mergeSteps, parseRemoteSteps, fetchRemoteTrace } from '../../src/workshop/remote-traces.js';
import { isTraceId, traceparent } from '../../src/workshop/trace.js';
import { signedTraceId } from '@quartet/common';
import { TEST_TRACE_SECRET } from '@quartet/testing';

const newTraceId = () => signedTraceId(TEST_TRACE_SECRET);

const jwt = (header: object, claims: object) =>
  `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2lnbmF0dXJl`;

t.test('trace ids and traceparent follow W3C Trace Context', async (t) => {
  const id = newTraceId();
  t.match(id, /^[0-9a-f]{32}$/);
  t.ok(isTraceId(id));
  t.notOk(isTraceId('0'.repeat(32)), 'all zeros is invalid');
  t.notOk(isTraceId('ABCDEF'.padEnd(32, '0')), 'uppercase is invalid');
  const a = traceparent(id);
  const b = traceparent(id);
  t.match(a, new RegExp(`^00-${id}-[0-9a-f]{16}-01$`));
  t.not(a, b, 'a new parent id per request');
});

t.test('the store is bounded: browsers (LRU), flows per browser, steps per flow, age', async (t) => {
  const store = new InspectorStore({ browsers: 2, flowsPerBrowser: 2, stepsPerFlow: 3, ttlMs: 60_000 });
  const r1 = store.startFlow('b1', newTraceId(), 'one');
  for (let i = 0; i < 10; i++) r1.record({ role: 'client', title: `s${i}`, outcome: 'info' });
  t.equal(r1.flow.steps.length, 4, '3 steps + one "not recorded" marker');
  t.match(r1.flow.steps[3]!.title, /not recorded/);
  store.startFlow('b1', newTraceId(), 'two');
  const third = store.startFlow('b1', newTraceId(), 'three');
  t.same(
    store.flows('b1').map((f) => f.label),
    ['three', 'two'],
    'newest first, oldest dropped',
  );
  t.equal(store.find('b1', third.traceId)?.label, 'three');
  t.equal(store.recorder('b1', r1.traceId), undefined, 'the dropped flow is gone');
  t.equal(store.recorder('b2', third.traceId), undefined, 'another browser cannot reach this flow');

  store.startFlow('b2', newTraceId(), 'x');
  store.recorder('b1', third.traceId)!.record({ role: 'client', title: 'touch', outcome: 'info' });
  store.startFlow('b3', newTraceId(), 'y');
  t.equal(store.size, 2);
  t.equal(store.flows('b2').length, 0, 'least recently used browser evicted');
  t.equal(store.flows('b1').length, 2, 'recently touched browser kept');

  const old = new InspectorStore({ browsers: 5, flowsPerBrowser: 5, stepsPerFlow: 5, ttlMs: -1 });
  old.startFlow('b', newTraceId(), 'z');
  t.same(old.flows('b'), [], 'expired records are dropped');
});

t.test('display helpers: tokens shortened, the secret never shown, the PKCE computation spelled out', async (t) => {
  t.equal(shorten('abcdefghijklmnop'), 'abcdefgh…');
  t.equal(maskedBasic('demo-client'), 'Basic base64(demo-client:••••••••)');

  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL(
    `http://as.test/authorize?response_type=code&client_id=demo-client&code_challenge=${challenge}&code_challenge_method=S256&x=1`,
  );
  const sections = authorizationRequestSections(url, verifier);
  const pkce = sections.find((s) => s.heading.startsWith('PKCE'))!;
  t.match(pkce.text, verifier);
  t.match(pkce.text, challenge);
  t.match(pkce.text, createHash('sha256').update(verifier).digest('hex'));
  const params = sections.find((s) => s.heading === 'Parameters')!.rows!;
  t.match(params.find((r) => r.name === 'code_challenge')!.note, /SHA-256/);
  t.equal(params.find((r) => r.name === 'x')!.note, undefined, 'unknown parameters have no explanation');
  t.equal(authorizationRequestSections(url, undefined).length, 2, 'no PKCE section without a verifier');

  const request = formRequestSections(
    'http://as.test/oauth/token',
    'demo-client',
    { grant_type: 'authorization_code', code: 'CODE-1234567890', code_verifier: verifier },
    'tp',
  );
  const text = JSON.stringify(request);
  t.notMatch(text, 'CODE-1234567890');
  t.match(text, 'CODE-123…');
  t.match(text, verifier, "the verifier is shown (the client's own secret, to its own user)");
  t.match(text, '••••••••');

  const response = JSON.stringify(
    jsonResponseSections(200, {
      access_token: 'eyJhbGciOiJFUzI1NiJ9.payload.sig',
      refresh_token: 'refresh-token-value',
      expires_in: 300,
    }),
  );
  t.notMatch(response, 'refresh-token-value');
  t.notMatch(response, 'payload.sig');
  t.match(response, 'refresh-…');
  t.match(response, '"value":"300"');
  t.same(jsonResponseSections(200, null)[0]!.rows, [{ name: 'status', value: '200' }]);
});

t.test('access tokens are decoded for display with every claim explained', async (t) => {
  const token = jwt(
    { typ: 'at+jwt', alg: 'ES256', kid: 'k1' },
    {
      iss: 'http://as',
      sub: 'u',
      aud: 'http://rs',
      scope: 'photos:read',
      exp: 2_000_000_000,
      iat: 1_999_999_700,
      custom: 1,
    },
  );
  const decoded = decodeJwt(token)!;
  t.equal(decoded.header.kid, 'k1');
  const [header, claims] = accessTokenSections(decoded);
  t.match(header!.rows!.find((r) => r.name === 'alg')!.note, /allow-list/);
  t.match(claims!.rows!.find((r) => r.name === 'aud')!.note, /Audience/);
  t.match(claims!.rows!.find((r) => r.name === 'exp')!.value, /2033-05-18T/);
  t.equal(claims!.rows!.find((r) => r.name === 'custom')!.note, undefined);
  t.equal(decodeJwt('not-a-jwt'), null);
  t.equal(decodeJwt('a.b.c'), null, 'undecodable parts');
  t.equal(
    decodeJwt(`${Buffer.from('1').toString('base64url')}.${Buffer.from('2').toString('base64url')}.x`),
    null,
    'not objects',
  );
});

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

t.test('remote steps are validated, bounded to their role, and merged by time', async (t) => {
  const parsed = parseRemoteSteps(
    {
      steps: [
        { at: '2026-01-01T00:00:02.000Z', role: 'client', title: 'PKCE verified (S256)', outcome: 'ok', detail: 'd' },
        { at: 'yesterday', title: 'bad time' },
        { at: '2026-01-01T00:00:03.000Z', title: 'x'.repeat(5000), outcome: 'weird' },
        null,
        { at: '2026-01-01T00:00:04.000Z' },
      ],
    },
    'authorization server',
  );
  t.equal(parsed.length, 2);
  t.equal(parsed[0]!.role, 'authorization server', 'a server speaks only for its own role');
  t.equal(parsed[1]!.outcome, 'info');
  t.equal(parsed[1]!.title.length, 2000);
  t.same(parseRemoteSteps({ steps: 'no' }, 'resource server'), []);
  t.same(parseRemoteSteps(null, 'resource server'), []);

  const client = [
    { at: '2026-01-01T00:00:01.000Z', role: 'client' as const, title: 'c1', outcome: 'info' as const },
    { at: '2026-01-01T00:00:02.000Z', role: 'client' as const, title: 'c2', outcome: 'info' as const },
  ];
  t.same(
    mergeSteps(client, parsed).map((s) => s.title),
    ['c1', 'c2', 'PKCE verified (S256)', 'x'.repeat(2000)],
    'same instant: client first',
  );

  const down = await fetchRemoteTrace('http://127.0.0.1:1', 'authorization server', newTraceId());
  t.equal(down.available, false);
  t.match(down.reason, /unreachable/);
});
