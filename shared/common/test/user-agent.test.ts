import Fastify from 'fastify';
import formbody from '@fastify/formbody';
import t from 'tap';
import { UserAgent, fetchTransport, formFor, forms, pageSummary, textOf } from '../src/index.js';

const LOGIN_PAGE = `<!doctype html><html><head><title>Sign in</title></head><body>
<h1>Sign in to &quot;Quartet&quot;</h1><p>Use your <b>demo</b> account &amp; password.</p>
<form method="post" action="/login?x=1"><input type="hidden" name="_csrf" value="a&amp;b&quot;c">
<input name="username"><input type="password" name="password" value="">
<input type="checkbox" name="remember" value="yes"><input type="checkbox" name="terms" value="ok" checked>
<textarea name="note">hi</textarea><select name="lang"><option value="en">en</option><option value="fr" selected>fr</option></select>
<button name="decision" value="approve">Allow</button><button name="decision" value="deny">Deny</button></form>
<form action='relative/path'><input name='q' value='1'></form></body></html>`;

t.test('forms: fields, buttons, resolved actions and entities, read by a real parser', async (t) => {
  const [login, search] = forms(LOGIN_PAGE, 'http://localhost:9000/interaction/start');
  t.equal(login!.action, 'http://localhost:9000/login?x=1');
  t.equal(login!.method, 'POST');
  t.same(
    login!.fields,
    { _csrf: 'a&b"c', username: '', password: '', terms: 'ok', note: 'hi', lang: 'fr' },
    'unchecked boxes are not sent',
  );
  t.same(login!.buttons, [
    { name: 'decision', value: 'approve', text: 'Allow' },
    { name: 'decision', value: 'deny', text: 'Deny' },
  ]);
  t.equal(search!.action, 'http://localhost:9000/interaction/relative/path');
  t.equal(search!.method, 'GET');
  t.same(pageSummary(LOGIN_PAGE), { title: 'Sign in to "Quartet"', detail: 'Use your demo account & password.' });
  t.same(pageSummary('<title>Only a title</title><p>text</p>'), { title: 'Only a title', detail: 'text' });
  t.match(textOf(LOGIN_PAGE), /^Sign in to "Quartet" Use your demo account & password\./);
  t.throws(
    () => formFor({ body: LOGIN_PAGE, url: 'http://localhost/', status: 200 }, '/consent'),
    /no form posting to \/consent/,
  );
});

t.test('UserAgent over HTTP: cookies by the browser rules, manual redirects, form submission', async (t) => {
  const app = Fastify();
  await app.register(formbody);
  app.get('/start', async (_req, reply) =>
    reply
      .header('set-cookie', ['sid=s1; Path=/; HttpOnly', 'scoped=p; Path=/only', 'gone=x; Path=/'])
      .redirect('/page'),
  );
  app.get('/page', async (req, reply) => reply.type('text/html').send(LOGIN_PAGE.replace('/login?x=1', '/login')));
  app.post('/login', async (req, reply) => {
    const body = req.body as Record<string, string>;
    return reply
      .header('set-cookie', 'gone=; Max-Age=0; Path=/')
      .redirect(
        `/done?user=${body.username}&csrf=${encodeURIComponent(body._csrf!)}&cookie=${encodeURIComponent(req.headers.cookie ?? '')}&d=${body.decision}`,
      );
  });
  app.get('/done', async (req) => ({ query: req.query, cookie: req.headers.cookie }));
  app.get('/loop', async (_req, reply) => reply.redirect('/loop'));
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

  const agent = new UserAgent({ transport: fetchTransport });
  const pages = await agent.follow(await agent.get(`${base}/start`));
  t.same(
    pages.map((p) => p.status),
    [302, 200],
  );
  t.equal(agent.cookie('sid', base), 's1');
  t.equal(agent.cookie('scoped', base), undefined, 'a cookie is only sent where its Path allows');
  t.equal(agent.cookie('scoped', `${base}/only/x`), 'p');
  const page = pages.at(-1)!;
  const form = formFor(page, '/login');
  const answer = await agent.submit(form, { username: 'alice' }, form.buttons[1]);
  t.equal(answer.status, 302);
  const done = new URL(answer.location!);
  t.equal(done.searchParams.get('user'), 'alice');
  t.equal(done.searchParams.get('csrf'), 'a&b"c');
  t.equal(done.searchParams.get('d'), 'deny');
  t.equal(done.searchParams.get('cookie'), 'sid=s1; gone=x');
  t.equal(agent.cookie('gone', base), undefined, 'Max-Age=0 removes a cookie');
  const stopped = await agent.follow(answer, { stop: (next) => next.pathname === '/done' });
  t.equal(stopped.length, 1, 'stop() keeps the agent from visiting a URL');
  await t.rejects(agent.follow(await agent.get(`${base}/loop`), { max: 3 }), /more than 3 redirects/);
  t.match(agent.history[0], /^GET http:\/\/127\.0\.0\.1:\d+\/start -> 302$/);
});

t.test('UserAgent over a custom transport (app.inject) with a base URL and Node.js header objects', async (t) => {
  const app = Fastify();
  app.get('/a', async (_req, reply) => reply.header('set-cookie', ['one=1; Path=/', 'two=2; Path=/']).send('ok'));
  app.get('/b', async (req) => ({ cookie: req.headers.cookie, extra: req.headers['x-extra'] }));
  t.teardown(() => app.close());
  const agent = new UserAgent({
    baseUrl: 'http://localhost:9000',
    headers: { 'x-extra': 'yes' },
    transport: async ({ method, url, headers, body }) => {
      const res = await app.inject({ method: method as 'GET', url: new URL(url).pathname, headers, payload: body });
      return { status: res.statusCode, headers: res.headers, body: res.body, raw: res };
    },
  });
  await agent.get('/a');
  const b = await agent.get('/b');
  t.same(JSON.parse(b.body), { cookie: 'one=1; two=2', extra: 'yes' });
  t.equal(b.raw?.statusCode, 200, 'the transport response is kept as raw');
});
