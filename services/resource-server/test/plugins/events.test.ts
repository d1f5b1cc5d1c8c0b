// app.events: what the Bearer check tells its subscribers, in order, per kind of request — one table row each,
// with the exact events and the fixed reason of a refusal — and a listener that throws is logged, never the
// request's answer.
import t from 'tap';
import type { ResourceServerEvents } from '../../src/plugins/events.js';
import { ALICE, b64url, bearer, setup } from '../helper.js';

const lines: string[] = [];
const { app, as } = await setup(t, {
  logger: { level: 'error', stream: { write: (line: string) => void lines.push(line) } },
});

type Seen = { event: keyof ResourceServerEvents; detail?: string };
const seen: Seen[] = [];
const names: (keyof ResourceServerEvents)[] = [
  'token.presented',
  'keys.fetched',
  'keys.unavailable',
  'token.verified',
  'check.failed',
  'scope.insufficient',
  'token.accepted',
];
for (const event of names) {
  app.events.on(event, (payload) => {
    const p = payload as { reason?: string; scope?: string; fetches?: readonly { url: string }[] };
    const detail = p.reason ?? p.scope ?? p.fetches?.map((f) => new URL(f.url).pathname).join(' ');
    seen.push(detail === undefined ? { event } : { event, detail });
  });
}

async function eventsOf(headers: Record<string, string>, url = '/photos'): Promise<Seen[]> {
  seen.length = 0;
  await app.inject({ method: 'GET', url, headers });
  return [...seen];
}

t.test('each kind of request: its events, in order', async (t) => {
  const rows: [string, () => Promise<Record<string, string>>, Seen[]][] = [
    [
      'first valid token: the keys are fetched (something listens to keys.fetched)',
      async () => bearer(await as.token()),
      [
        { event: 'token.presented' },
        { event: 'keys.fetched', detail: '/.well-known/oauth-authorization-server /.well-known/jwks.json' },
        { event: 'token.verified', detail: '/.well-known/oauth-authorization-server /.well-known/jwks.json' },
        { event: 'token.accepted', detail: 'photos:read' },
      ],
    ],
    [
      'valid token, cached keys: no keys.fetched',
      async () => bearer(await as.token()),
      [
        { event: 'token.presented' },
        { event: 'token.verified', detail: '' },
        { event: 'token.accepted', detail: 'photos:read' },
      ],
    ],
    ['no token', async () => ({}), [{ event: 'check.failed', detail: 'missing' }]],
    [
      'two tokens in the header',
      async () => ({ authorization: 'Bearer two tokens' }),
      [{ event: 'check.failed', detail: 'malformed_request' }],
    ],
    [
      'alg none',
      async () => bearer(`${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url({ sub: ALICE })}.`),
      [{ event: 'token.presented' }, { event: 'check.failed', detail: 'alg' }],
    ],
    [
      'a token without the scope',
      async () => bearer(await as.token({ claims: { scope: 'documents:read' } })),
      [
        { event: 'token.presented' },
        { event: 'token.verified', detail: '' },
        { event: 'scope.insufficient', detail: 'photos:read' },
      ],
    ],
    [
      'a client_credentials token',
      async () => bearer(await as.token({ claims: { sub: 'demo-client', client_id: 'demo-client' } })),
      [
        { event: 'token.presented' },
        { event: 'token.verified', detail: '' },
        { event: 'check.failed', detail: 'client_token' },
      ],
    ],
  ];
  for (const [name, headers, expected] of rows) t.strictSame(await eventsOf(await headers()), expected, name);
});

t.test('keys unavailable: keys.unavailable, then 503', async (t) => {
  const down = await setup(t);
  const events: string[] = [];
  down.app.events.on('keys.unavailable', ({ error }) => events.push(error.name));
  down.app.events.on('check.failed', ({ reason }) => events.push(reason));
  await down.as.stop();
  const res = await down.app.inject({ url: '/photos', headers: bearer(await down.as.token()) });
  t.equal(res.statusCode, 503);
  t.strictSame(events, ['KeySourceUnavailableError']);
});

t.test('a listener that throws is logged; the request is answered as if nothing listened', async (t) => {
  const off = app.events.on('token.accepted', () => {
    throw new Error('broken listener');
  });
  t.teardown(off);
  lines.length = 0;
  const res = await app.inject({ url: '/photos', headers: bearer(await as.token()) });
  t.equal(res.statusCode, 200);
  const logged = lines.map((l) => JSON.parse(l) as { msg?: string; event?: string; err?: { message?: string } });
  t.match(logged, [{ msg: 'event listener failed', event: 'token.accepted', err: { message: 'broken listener' } }]);
});
