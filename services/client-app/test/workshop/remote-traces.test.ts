import t from 'tap';
import { signedTraceId } from '@quartet/common';
import { TEST_TRACE_SECRET } from '@quartet/testing';
import { mergeSteps, parseRemoteSteps, fetchRemoteTrace } from '../../src/workshop/remote-traces.js';

const newTraceId = () => signedTraceId(TEST_TRACE_SECRET);

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
