// The three images, built for real (test/containers/build-images.sh: the services' Dockerfiles with BuildKit
// on a Docker engine) and run the way the Kubernetes manifests run them: read-only root file system, no
// capabilities, no privilege escalation, the image's non-root user. On the host's network against the test
// PostgreSQL and Redis:
//   1. what each image is: Node.js 24, user `node`, a HEALTHCHECK, the OCI labels of this checkout, the list
//      of its production dependencies (and no development tool among them), its size;
//   2. each image's migrator (`node dist/migrate.mjs`) on an empty database and its seed, as one-off runs;
//   3. the three servers: healthy by their own HEALTHCHECK, then alice's whole flow through the client app
//      container (connect → login → consent → photos), and a SIGTERM ends each one cleanly (exit code 0).
// Needs real PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL) and the images; see support/docker.ts.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { createRedisPrefix, needsRealDatabase, needsRealRedis } from '@quartet/testing';
import { Browser, connectAndSeePhotos } from './support/browser.js';
import {
  HARDENED,
  SERVICES,
  answers,
  docker,
  dockerReady,
  emptyDatabase,
  image,
  runOnce,
  serviceVersion,
  startContainer,
  uniqueName,
  waitUntil,
  type Container,
} from './support/docker.js';
import { freePort, root } from './support/processes.js';

const skip = needsRealDatabase || needsRealRedis;
if (skip) t.plan(0, skip);
else if (dockerReady(t, SERVICES.map(image))) await containers();

async function containers() {
  t.setTimeout(300_000);
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();

  t.test('each image: Node.js 24, non-root, HEALTHCHECK, OCI labels, production dependencies only', async (t) => {
    for (const service of SERVICES) {
      const [inspected] = JSON.parse(docker(['image', 'inspect', image(service)]).stdout);
      const { Config: config, Size: size } = inspected;
      t.equal(config.User, 'node', `${service}: runs as user node`);
      t.match(config.Healthcheck?.Test?.join(' '), /\/livez/, `${service}: HEALTHCHECK asks /livez`);
      const labels = config.Labels ?? {};
      t.equal(labels['org.opencontainers.image.version'], serviceVersion(service), `${service}: version label`);
      // The images under test are this checkout's (rebuild after a change: build-images.sh).
      t.match(
        labels['org.opencontainers.image.revision'],
        new RegExp(`^${head}(-dirty)?$`),
        `${service}: revision label is HEAD`,
      );
      t.ok(labels['org.opencontainers.image.source'], `${service}: source label`);
      t.match(labels['org.opencontainers.image.title'], /^Quartet /);
      const run = docker([
        'run',
        '--rm',
        ...HARDENED,
        '--entrypoint',
        'node',
        image(service),
        '-e',
        'console.log(process.version); console.log(require("fs").readFileSync("/app/dependencies.txt", "utf8"))',
      ]);
      t.equal(run.status, 0, `${service}: node runs read-only ${run.stderr}`);
      const [version, ...dependencies] = run.stdout.trim().split('\n');
      t.match(version, /^v24\./, `${service}: Node.js 24 (${version})`);
      const names = new Set(dependencies.map((line) => line.split(' ')[0]));
      t.ok(names.has('fastify'), `${service}: dependencies.txt lists fastify`);
      for (const dev of ['typescript', 'tap', 'tsx', 'esbuild', 'prisma', 'eslint', 'turbo']) {
        t.notOk(names.has(dev), `${service}: no ${dev} in the image`);
      }
      t.comment(
        `${image(service)}: ${(size / 1e6).toFixed(0)} MB, ${dependencies.length} packages, Node.js ${version}`,
      );
    }
  });

  t.test('migrate, seed and serve from the images; alice connects through the containers', async (t) => {
    const run = uniqueName('images');
    const ports = { auth: await freePort(), resource: await freePort(), client: await freePort() };
    const urls = {
      auth: `http://localhost:${ports.auth}`,
      resource: `http://localhost:${ports.resource}`,
      client: `http://localhost:${ports.client}`,
    };
    const authDb = await emptyDatabase(t, 'containers_auth');
    const resourceDb = await emptyDatabase(t, 'containers_resource');
    const authRedis = createRedisPrefix('containers-auth');
    const clientRedis = createRedisPrefix('containers-client');
    t.teardown(() => Promise.all([authRedis.cleanup(), clientRedis.cleanup()]));
    const secret = randomBytes(24).toString('base64url');
    const auth = {
      DATABASE_URL: authDb,
      ...authRedis.env,
      HOST: '127.0.0.1',
      PORT: String(ports.auth),
      ISSUER: urls.auth,
      RESOURCE_AUDIENCE: urls.resource,
      DEMO_CLIENT_SECRET: secret,
      DEMO_CLIENT_REDIRECT_URI: `${urls.client}/callback`,
      KEY_ENCRYPTION_SECRET: randomBytes(32).toString('base64url'),
    };
    const resource = {
      DATABASE_URL: resourceDb,
      HOST: '127.0.0.1',
      PORT: String(ports.resource),
      RESOURCE_ID: urls.resource,
      AUTHORIZATION_SERVER: urls.auth,
    };
    const client = {
      ...clientRedis.env,
      HOST: '127.0.0.1',
      PORT: String(ports.client),
      PUBLIC_URL: urls.client,
      AUTHORIZATION_SERVER: urls.auth,
      RESOURCE_SERVER: urls.resource,
      CLIENT_SECRET: secret,
    };

    // One-off runs, as the migration Jobs and the Compose one-off services run them.
    for (const [service, env] of [
      ['authorization-server', auth],
      ['resource-server', resource],
    ] as const) {
      // Each one-off runs the service's image as the Jobs do: hardened, with the service's environment.
      const oneOff = (name: string, script: string) =>
        runOnce({
          name: `${run}-${service}-${name}`,
          image: image(service),
          env,
          options: HARDENED,
          command: ['node', `dist/${script}.mjs`],
        });
      const migrate = await oneOff('migrate', 'migrate');
      t.equal(migrate.status, 0, `${service}: migrate exits 0 ${migrate.stderr}`);
      t.match(migrate.stdout, /applied (migrations )?\d{14}_/, `${service}: migrations applied`);
      const again = await oneOff('migrate2', 'migrate');
      t.equal(again.status, 0, `${service}: a second migrate exits 0`);
      t.notMatch(again.stdout, /applied (migrations )?\d/, `${service}: and applies nothing`);
      const seed = await oneOff('seed', 'seed');
      t.equal(seed.status, 0, `${service}: seed exits 0 ${seed.stderr}`);
    }

    const running: Container[] = [];
    for (const [service, env] of [
      ['authorization-server', auth],
      ['resource-server', resource],
      ['client-app', client],
    ] as const) {
      running.push(
        await startContainer(t, { name: `${run}-${service}`, image: image(service), env, options: HARDENED }),
      );
    }
    // Healthy by the image's own HEALTHCHECK (its first check runs 10 s after the start).
    await Promise.all(
      running.map((c) =>
        waitUntil(
          `${c.name} healthy`,
          () => c.health() === 'healthy',
          90_000,
          () => c.logs().slice(-3000),
        ),
      ),
    );
    for (const url of Object.values(urls)) t.ok(await answers(`${url}/readyz`), `${url}/readyz answers 200`);

    const photos = await connectAndSeePhotos(new Browser(), urls.client);
    t.equal(photos.status, 200, 'alice ends on her photos page');
    t.match(photos.body, /<img\b[^>]*src="[^"]*\/photos\/[^"]+\/image"/, 'photos from the resource server container');

    // SIGTERM (docker stop): each server drains and exits 0, well before docker's 10 s SIGKILL.
    for (const c of running.reverse()) {
      const started = Date.now();
      const stop = docker(['stop', c.name]);
      t.equal(stop.status, 0);
      const exit = docker(['inspect', '--format', '{{.State.ExitCode}}', c.name]).stdout.trim();
      t.equal(exit, '0', `${c.name}: exit code 0 after SIGTERM`);
      t.ok(Date.now() - started < 9000, `${c.name}: stopped in ${Date.now() - started} ms`);
    }
  });
}
