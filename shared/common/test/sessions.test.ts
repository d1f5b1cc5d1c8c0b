import cookie from '@fastify/cookie';
import Fastify from 'fastify';
import t from 'tap';
import { createRedisPrefix, testRedisUrl } from '@quartet/testing';
import { SessionManager, createKeyValueStore, jsonErrors } from '../src/index.js';

t.test('sessions: cookie holds only an id, data stays in the store, destroy clears both', async (t) => {
  const p = createRedisPrefix('sess');
  const store = createKeyValueStore(testRedisUrl(), p.prefix);
  const sessions = new SessionManager<{ user: string }>({
    cookieName: 'sid',
    ttlSeconds: 60,
    secure: true,
    store,
    maxSessions: 100,
  });
  const app = Fastify();
  await app.register(cookie);
  app.post('/login', async (_req, reply) => {
    await sessions.create(reply, { user: 'alice' });
    return { ok: true };
  });
  app.get('/me', async (req) => ({ session: (await sessions.load(req))?.data ?? null }));
  app.post('/logout', async (req, reply) => {
    await sessions.destroy(req, reply);
    return { ok: true };
  });
  t.teardown(async () => {
    await app.close();
    await store.close();
    await p.cleanup();
  });

  const login = await app.inject({ method: 'POST', url: '/login' });
  const setCookie = String(login.headers['set-cookie']);
  t.match(setCookie, /^sid=[A-Za-z0-9_-]{43};/);
  t.match(setCookie, /HttpOnly/);
  t.match(setCookie, /SameSite=Lax/);
  t.match(setCookie, /Secure/);
  t.notMatch(setCookie, /alice/, 'no session data in the cookie');
  const sid = setCookie.split(';')[0]!.slice(4);

  t.same((await app.inject({ url: '/me', cookies: { sid } })).json(), { session: { user: 'alice' } });
  t.same((await app.inject({ url: '/me', cookies: { sid: 'x'.repeat(43) } })).json(), { session: null }, 'unknown id');
  t.same((await app.inject({ url: '/me', cookies: { sid: '../../etc' } })).json(), { session: null }, 'malformed id');
  await app.inject({ method: 'POST', url: '/logout', cookies: { sid } });
  t.same((await app.inject({ url: '/me', cookies: { sid } })).json(), { session: null }, 'destroyed server-side');
});

t.test(
  'sessions: at most maxSessions at once; a full store answers 503 + Retry-After, a freed one takes new logins',
  async (t) => {
    const p = createRedisPrefix('sess');
    const store = createKeyValueStore(testRedisUrl(), p.prefix);
    const sessions = new SessionManager<{ n: number }>({
      cookieName: 'sid',
      ttlSeconds: 60,
      secure: false,
      store,
      maxSessions: 3,
    });
    const app = Fastify();
    await app.register(cookie);
    await app.register(jsonErrors);
    app.post('/login', async (_req, reply) => {
      await sessions.create(reply, { n: 1 });
      return { ok: true };
    });
    app.post('/touch', async (req) => {
      const s = await sessions.load(req);
      if (s) await sessions.save(s);
      return { ok: Boolean(s) };
    });
    app.post('/logout', async (req, reply) => {
      await sessions.destroy(req, reply);
      return { ok: true };
    });
    t.teardown(async () => {
      await app.close();
      await store.close();
      await p.cleanup();
    });

    const sids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await app.inject({ method: 'POST', url: '/login' });
      t.equal(res.statusCode, 200);
      sids.push(String(res.headers['set-cookie']).split(';')[0]!.slice(4));
    }
    const full = await app.inject({ method: 'POST', url: '/login' });
    t.equal(full.statusCode, 503);
    t.equal(full.headers['retry-after'], '5');
    t.same(full.json(), {
      error: 'temporarily_unavailable',
      error_description: 'The service is holding too many pending requests right now; try again shortly.',
    });
    t.same(
      (await app.inject({ method: 'POST', url: '/touch', cookies: { sid: sids[0]! } })).json(),
      { ok: true },
      'an existing session can still be saved',
    );
    await app.inject({ method: 'POST', url: '/logout', cookies: { sid: sids[0]! } });
    t.equal((await app.inject({ method: 'POST', url: '/login' })).statusCode, 200, 'a logout frees a place');
  },
);
