// app.events (plugins/events.ts): the protocol layer says what it did; the workshop recorder listens only in
// workshop mode, and a listener that fails is logged without touching the request that emitted the event.
import t from 'tap';
import { buildTestApp, connect } from '../helper.js';

t.test('the inspector subscribes in workshop mode only', async (t) => {
  const off = await buildTestApp(t);
  for (const event of ['as.request', 'as.response', 'access-token.issued', 'rs.request', 'rs.response'] as const)
    t.equal(off.app.events.has(event), false, `${event}: nobody listens without WORKSHOP_MODE`);
  const on = await buildTestApp(t, { WORKSHOP_MODE: 'true' });
  for (const event of ['as.request', 'as.response', 'access-token.issued', 'rs.request', 'rs.response'] as const)
    t.equal(on.app.events.has(event), true, `${event}: recorded in workshop mode`);
});

t.test('a failing listener is logged and the page is served anyway', async (t) => {
  const ctx = await buildTestApp(t, { WORKSHOP_MODE: 'true' }, { captureLogs: true });
  ctx.app.events.on('rs.request', () => {
    throw new Error('listener broke');
  });
  const browser = await connect(ctx);
  t.equal((await browser.get('/photos')).statusCode, 200);
  t.match(ctx.logs.join('\n'), /"level":50[^\n]*"event":"rs.request"[^\n]*protocol event listener failed/);
});

t.test('the connection reports refreshes and its end', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.as.expiresIn = 5; // within the refresh margin: the next page refreshes first
  const seen: string[] = [];
  ctx.app.events.on('connection.refreshed', (e) => seen.push(`refreshed ${e.scope} rotated=${e.rotated}`));
  ctx.app.events.on('connection.ended', (e) => seen.push(`ended ${e.reason}`));
  const browser = await connect(ctx);
  t.equal((await browser.get('/photos')).statusCode, 200);
  t.same(seen, ['refreshed photos:read documents:read rotated=true']);
  ctx.as.validRefreshTokens.clear();
  await browser.get('/photos');
  t.same(seen.slice(1), ['ended refresh-rejected']);
});
