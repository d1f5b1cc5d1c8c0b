// Bounded state in the client app: a loose per-address limit on /connect (429 + Retry-After), and caps on the
// flows in progress and on sessions (503 + Retry-After) instead of a store that grows with every visitor.
import t from 'tap';
import { buildTestApp } from '../helper.js';

t.test('/connect: past RATE_LIMIT_CONNECT a minute from one address, a 429 page with Retry-After', async (t) => {
  const ctx = await buildTestApp(t, { RATE_LIMIT_CONNECT: '3' });
  for (let i = 0; i < 3; i++)
    t.equal((await ctx.app.inject({ url: '/connect', remoteAddress: '198.51.100.7' })).statusCode, 303);
  const limited = await ctx.app.inject({ url: '/connect', remoteAddress: '198.51.100.7' });
  t.equal(limited.statusCode, 429);
  const retryAfter = Number(limited.headers['retry-after']);
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  t.match(limited.headers['content-type'], /text\/html/);
  t.match(limited.body, /Too many requests/);
  t.match(limited.body, /This network started too many sign-ins\. Try again in \d+ seconds\./);
  t.notOk(limited.headers.location, 'no flow started');
  t.equal(
    (await ctx.app.inject({ url: '/connect', remoteAddress: '198.51.100.8' })).statusCode,
    303,
    'other addresses go on',
  );
});

t.test(
  'flows in progress are capped: beyond MAX_PENDING_AUTHORIZATIONS /connect answers 503 + Retry-After',
  async (t) => {
    const ctx = await buildTestApp(t, { MAX_PENDING_AUTHORIZATIONS: '2' });
    const browser = ctx.browser();
    t.equal((await browser.get('/connect')).statusCode, 303);
    t.equal((await browser.get('/connect')).statusCode, 303);
    const full = await browser.get('/connect');
    t.equal(full.statusCode, 503);
    t.equal(full.headers['retry-after'], '5');
    t.match(full.body, /Temporarily unavailable/);
    t.match(full.body, /too many pending requests/);
  },
);

t.test(
  'sessions are capped: beyond MAX_SESSIONS a new visitor gets 503 + Retry-After, existing ones go on',
  async (t) => {
    const ctx = await buildTestApp(t, { MAX_SESSIONS: '2' });
    const first = ctx.browser();
    t.equal((await first.get('/connect')).statusCode, 303);
    t.equal((await ctx.browser().get('/connect')).statusCode, 303);
    const third = await ctx.browser().get('/connect');
    t.equal(third.statusCode, 503);
    t.equal(third.headers['retry-after'], '5');
    t.equal((await first.get('/connect')).statusCode, 303, 'a browser that has a session still starts flows');
  },
);
