import cookie from '@fastify/cookie';
import Fastify from 'fastify';
import t from 'tap';
import { createRedisPrefix, testRedisUrl } from '@quartet/testing';
import { SessionManager, createKeyValueStore } from '../src/index.js';

t.test('sessions: cookie holds only an id, data stays in the store, destroy clears both', async (t) => {
  const p = createRedisPrefix('sess');
  const store = createKeyValueStore(testRedisUrl(), p.prefix);
  const sessions = new SessionManager<{ user: string }>({ cookieName: 'sid', ttlSeconds: 60, secure: true, store });
  const app = Fastify();
  await app.register(cookie);
  app.post('/login', async (_req, reply) => { await sessions.create(reply, { user: 'alice' }); return { ok: true }; });
  app.get('/me', async (req) => ({ session: (await sessions.load(req))?.data ?? null }));
  app.post('/logout', async (req, reply) => { await sessions.destroy(req, reply); return { ok: true }; });
  t.teardown(async () => { await app.close(); await store.close(); await p.cleanup(); });

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
