import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import { createRedisPrefix, testRedisUrl } from '@quartet/testing';
import { SessionManager, createKeyValueStore, jsonErrors } from '../src/index.js';

/**
 * An app with the session manager (cookie `sid`, 60 s) over a store under a fresh key prefix, and the routes every
 * test uses: POST /login starts a session holding `data`, POST /logout ends it. JSON errors as in the services.
 */
async function sessionApp<D extends object>(
  t: Test,
  data: D,
  options: { secure: boolean; maxSessions: number },
): Promise<{ app: FastifyInstance; sessions: SessionManager<D> }> {
  const p = createRedisPrefix('sess');
  const store = createKeyValueStore(testRedisUrl(), p.prefix);
  const sessions = new SessionManager<D>({ cookieName: 'sid', ttlSeconds: 60, store, ...options });
  const app = Fastify();
  await app.register(cookie);
  await app.register(jsonErrors);
  app.post('/login', async (_req, reply) => {
    await sessions.create(reply, data);
    return { ok: true };
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
  return { app, sessions };
}

t.test('sessions: cookie holds only an id, data stays in the store, destroy clears both', async (t) => {
  const { app, sessions } = await sessionApp(t, { user: 'alice' }, { secure: true, maxSessions: 100 });
  app.get('/me', async (req) => ({ session: (await sessions.load(req))?.data ?? null }));

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
    const { app, sessions } = await sessionApp(t, { n: 1 }, { secure: false, maxSessions: 3 });
    app.post('/touch', async (req) => {
      const s = await sessions.load(req);
      if (s) await sessions.save(s);
      return { ok: Boolean(s) };
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
