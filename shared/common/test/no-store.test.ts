import Fastify from 'fastify';
import t from 'tap';
import { noStoreByDefault } from '../src/no-store.js';

t.test('answers are no-store unless the route sets its own Cache-Control', async (t) => {
  const app = Fastify();
  t.teardown(() => app.close());
  noStoreByDefault(app);
  app.get('/data', async () => ({ secret: 'of one user' }));
  app.get('/style.css', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=3600').type('text/css').send('body{}'),
  );
  app.get('/missing', async (_request, reply) => reply.code(404).send({ error: 'not_found' }));

  t.equal((await app.inject('/data')).headers['cache-control'], 'no-store');
  t.equal((await app.inject('/missing')).headers['cache-control'], 'no-store', 'errors too');
  t.equal((await app.inject('/unrouted')).headers['cache-control'], 'no-store', 'and the 404 of an unknown route');
  t.equal(
    (await app.inject('/style.css')).headers['cache-control'],
    'public, max-age=3600',
    "a route's own choice is kept",
  );
});
