// Logs: the caller's x-request-id is echoed and on every log line of the request; API calls logged at trace
// level, with good and bad tokens in every place a client may put one, never write a token.
import t from 'tap';
import { loggerOptions } from '@quartet/common';
import { b64url, bearer, createDocument, setup } from './helper.js';

const lines: string[] = [];
const { app, as } = await setup(t, {
  logger: {
    ...(loggerOptions('resource-server', 'trace') as object),
    stream: { write: (line: string) => void lines.push(line) },
  },
});
type LogLine = { reqId?: string; msg?: string };
const parsed = () => lines.map((l) => JSON.parse(l) as LogLine);

t.test('x-request-id: echoed, and on every log line of that request', async (t) => {
  const res = await app.inject({
    method: 'GET',
    url: '/photos',
    headers: { ...bearer(await as.token()), 'x-request-id': 'rs-req-0001' },
  });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-request-id'], 'rs-req-0001');
  const mine = parsed()
    .filter((l) => l.reqId === 'rs-req-0001')
    .map((l) => l.msg);
  t.ok(mine.includes('incoming request') && mine.includes('request completed'), 'both lines of the request carry it');

  // Refused requests too (the 401 is logged as "request rejected" by the error handler).
  const refused = await app.inject({
    method: 'GET',
    url: '/documents',
    headers: { ...bearer('not-a-jwt'), 'x-request-id': 'rs-req-0002' },
  });
  t.equal(refused.statusCode, 401);
  t.equal(refused.headers['x-request-id'], 'rs-req-0002');
  t.ok(parsed().some((l) => l.reqId === 'rs-req-0002' && l.msg === 'request rejected'));

  // A traceparent without x-request-id: the id is derived from it.
  const traced = await app.inject({
    method: 'GET',
    url: '/livez',
    headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  });
  t.equal(traced.headers['x-request-id'], '0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331');
});

t.test('tokens never reach the log, wherever they are sent', async (t) => {
  const good = await as.token();
  const other = await as.token({ claims: { aud: 'https://other.example' } });
  const forged = `${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url({ sub: 'mallory-forged-subject' })}.`;
  const { id } = await createDocument(t, app, bearer(good), { title: 'Diary', content: 'secret-document-content' });
  await app.inject({ method: 'GET', url: `/documents/${id}`, headers: bearer(good) });
  await app.inject({ method: 'GET', url: '/photos', headers: bearer(other) });
  await app.inject({ method: 'GET', url: '/photos', headers: bearer(forged) });
  await app.inject({ method: 'GET', url: `/photos?access_token=${good}` });
  await app.inject({
    method: 'GET',
    url: '/photos',
    headers: { authorization: `Basic ${Buffer.from('alice:wonderland-password').toString('base64')}` },
  });
  await app.inject({ method: 'POST', url: '/documents', headers: bearer(good), payload: { title: '', content: 'x' } });

  const output = lines.join('');
  t.equal(app.log.level, 'trace');
  for (const token of [good, other, forged]) {
    t.notOk(output.includes(token), 'a whole token is not in the logs');
    for (const part of token.split('.').filter((p) => p.length > 8))
      t.notOk(output.includes(part), 'nor any part of it');
  }
  t.notMatch(output, /wonderland-password|YWxpY2U6|Bearer |Basic /);
  t.notMatch(output, /secret-document-content/, 'request bodies are not logged');
});
