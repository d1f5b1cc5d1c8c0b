// `docker compose up` for real: docker-compose.yml starts on the local Docker engine (with PostgreSQL and
// Redis from Debian's packages in place of the official images on machines without a registry:
// test/containers/compose.local-images.yml), its one-off migrate and seed jobs finish, every service's health
// check passes, alice's whole flow works through the published ports (connect → login → consent → photos,
// the cookie-jar browser of support/browser.ts), and `down -v` leaves no container, network or volume behind.
// Uses Compose v2 (`docker compose`) when it is there, else Debian's Compose v1 (`docker-compose` 1.29).
// Needs the images (support/docker.ts) and the host's ports 9000, 9100 and 3000, which the file publishes;
// runs with the real backends' mode only, so that it runs once per CI run.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { needsRealDatabase, needsRealRedis } from '@quartet/testing';
import { Browser, connectAndSeePhotos } from './support/browser.js';
import {
  SERVICES,
  TEST_IMAGES,
  answers,
  docker,
  dockerAsync,
  dockerReady,
  image,
  uniqueName,
  waitUntil,
} from './support/docker.js';

const skip = needsRealDatabase || needsRealRedis;
if (skip) t.plan(0, skip);
else if (dockerReady(t, [...SERVICES.map(image), TEST_IMAGES.postgres, TEST_IMAGES.redis])) await compose();

async function compose() {
  t.setTimeout(300_000);
  const v2 = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
  const project = uniqueName('compose').replace(/-/g, '');
  const files = ['-f', 'docker-compose.yml', '-f', 'test/containers/compose.local-images.yml'];
  const run = (...args: string[]) =>
    dockerAsync(
      [...(v2 ? ['compose'] : []), '-p', project, ...files, ...args],
      300_000,
      v2 ? 'docker' : 'docker-compose',
    );
  const byProject = (kind: 'ps' | 'volume' | 'network') =>
    docker([
      ...(kind === 'ps' ? ['ps', '-a'] : [kind, 'ls']),
      '-q',
      '--filter',
      `label=com.docker.compose.project=${project}`,
    ]).stdout.trim();
  let down = false;
  t.teardown(async () => {
    if (!down) await run('down', '-v', '--remove-orphans');
  });
  t.comment(`Compose ${v2 ? 'v2 (docker compose)' : 'v1 (docker-compose)'}, project ${project}`);

  t.test('up: jobs complete, services healthy, alice connects; down -v removes everything', async (t) => {
    const up = await run('up', '-d', '--no-build');
    t.equal(up.status, 0, `up exits 0\n${up.stderr.slice(-3000)}`);

    // The state of each service's container: one-off jobs exited 0, the rest running and healthy.
    const state = (service: string) => {
      const id = docker([
        'ps',
        '-a',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${project}`,
        '--filter',
        `label=com.docker.compose.service=${service}`,
      ]).stdout.trim();
      return docker([
        'inspect',
        '--format',
        '{{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}',
        id,
      ]).stdout.trim();
    };
    const longRunning = ['postgres', 'redis', 'authorization-server', 'resource-server', 'client-app'];
    await waitUntil(
      'every service healthy',
      () => longRunning.every((s) => state(s) === 'running 0 healthy'),
      120_000,
      () =>
        longRunning.map((s) => `${s}: ${state(s)}`).join('\n') +
        '\n' +
        docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`]).stdout,
    );
    for (const job of ['migrate-auth', 'migrate-resource', 'seed-auth', 'seed-resource'])
      t.equal(state(job), 'exited 0', `${job} completed`);
    for (const service of longRunning) t.equal(state(service), 'running 0 healthy', `${service} healthy`);

    for (const url of ['http://localhost:9000', 'http://localhost:9100', 'http://localhost:3000']) {
      t.ok(await answers(`${url}/readyz`), `${url}/readyz through the published port`);
    }
    const photos = await connectAndSeePhotos(new Browser(), 'http://localhost:3000');
    t.equal(photos.status, 200, 'alice ends on her photos page');
    t.match(
      photos.body,
      /<img\b[^>]*src="[^"]*\/photos\/[^"]+\/image"/,
      'her photos, from the resource server container',
    );

    const removed = await run('down', '-v', '--remove-orphans');
    down = true;
    t.equal(removed.status, 0, `down -v exits 0 ${removed.stderr.slice(-2000)}`);
    t.equal(byProject('ps'), '', 'no container left');
    t.equal(byProject('volume'), '', 'no volume left (the database volume is gone)');
    t.equal(byProject('network'), '', 'no network left');
  });
}
