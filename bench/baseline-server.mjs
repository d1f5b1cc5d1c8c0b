// The baseline every scenario is compared with: a bare Fastify app (the same Fastify the services use,
// resolved from the workspace) answering a small JSON document, in its own process on loopback. The ratio
// scenario/baseline says how far a hot path is from what this machine's Node + HTTP stack can do at all,
// which drifts far less between runs on shared machines than absolute requests per second.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/readyz', async () => ({ status: 'ready' }));
app.get('/baseline', async () => ({
  id: '5eed0001-0000-4000-8000-000000000001',
  title: 'Sunset over the bay',
  ok: true,
}));
await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
const stop = () => app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
