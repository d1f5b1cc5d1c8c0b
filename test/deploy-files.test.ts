// Offline checks of the container deployment files (there is no Docker engine here, so no image is built):
// - each service's Dockerfile passes dockerfile-utils' validator (the linter of VS Code's Docker support)
//   and our image rules: multi-stage on Node.js 24 LTS (node:24*), production dependencies only, non-root
//   final stage, HEALTHCHECK, OCI labels, no secret-looking ENV/ARG, and the migrations and the offline
//   migrator in the runtime image (there is no separate migrate target: no Prisma engine download);
// - .dockerignore keeps node_modules, local data, .git and .env out of the build context;
// - docker-compose.yml passes `docker-compose config --quiet` (Debian's docker-compose, installed by
//   .ci/run; skipped with the reason when absent) and wires the stack as `npm start` does;
// - the PostgreSQL init script, run against the real server (renamed roles and databases), gives each
//   service a database the other's role cannot open.
// Every checker is also run on a bad input, so a check that cannot fail would show.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { validate } from 'dockerfile-utils';
import { parse } from 'yaml';
import { needsRealDatabase } from '@quartet/testing';
import { root } from './support/processes.js';

// prisma: the service runs Prisma's WebAssembly query compiler, so its image starts node with --liftoff-only.
const SERVICES = {
  'authorization-server': { port: 9000, migrate: true, prisma: true },
  'resource-server': { port: 9100, migrate: true, prisma: true },
  'client-app': { port: 3000, migrate: false, prisma: false },
} as const;

const read = (path: string) => readFileSync(join(root, path), 'utf8');
const commandExists = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;

// ---------------------------------------------------------------- Dockerfiles

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions (continuation lines joined, comments dropped). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (pending && line.startsWith('#')) return;
    if (!pending) start = i + 1;
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) return;
    const [keyword = '', ...rest] = pending.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' '), line: start };
    pending = '';
    if (instruction.keyword === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(instruction.args)!;
      stages.push({ from: m[1]!, ...(m[2] ? { name: m[2].toLowerCase() } : {}), instructions: [] });
    } else if (stages.length) {
      stages.at(-1)!.instructions.push(instruction);
    }
  });
  return stages;
}

const SECRET_NAME = /SECRET|PASSW|TOKEN|PRIVATE|CREDENTIAL|API_?KEY|_KEY\b|DATABASE_URL|REDIS_URL/i;

/** Our rules for a service image; returns the problems found (empty = fine). */
export function dockerfileProblems(
  text: string,
  expect: { port: number; migrate: boolean; prisma: boolean },
): string[] {
  const problems: string[] = [];
  for (const d of validate(text)) problems.push(`dockerfile-utils line ${d.range.start.line + 1}: ${d.message}`);
  const stages = parseDockerfile(text);
  if (stages.length < 2) problems.push('not a multi-stage build');
  const names = new Set<string>();
  for (const stage of stages) {
    if (!names.has(stage.from.toLowerCase()) && !/^node:24[-.\w]*$/.test(stage.from))
      problems.push(`stage base ${stage.from} is not node:24*`);
    if (stage.name) names.add(stage.name);
    for (const i of stage.instructions) {
      if (i.keyword === 'ENV' || i.keyword === 'ARG') {
        const keys = [...i.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)/g)].map((m) => m[1]!);
        for (const key of keys.filter((k) => SECRET_NAME.test(k)))
          problems.push(`line ${i.line}: ${i.keyword} ${key} looks like a secret`);
      }
    }
  }
  const final = stages.at(-1);
  if (!final) return [...problems, 'no FROM'];
  const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
  const lastUser = of(final, 'USER').at(-1)?.args;
  if (!lastUser || /^(root|0)(:|$)/.test(lastUser)) problems.push('final stage does not switch to a non-root USER');
  const health = of(final, 'HEALTHCHECK');
  if (!health.length || /^NONE\b/i.test(health.at(-1)!.args)) problems.push('final stage has no HEALTHCHECK');
  else if (!/\/livez/.test(health.at(-1)!.args)) problems.push('HEALTHCHECK does not ask /livez');
  if (!of(final, 'ENV').some((i) => /NODE_ENV=production/.test(i.args)))
    problems.push('final stage does not set NODE_ENV=production');
  if (!of(final, 'EXPOSE').some((i) => i.args.split(/\s+/).includes(String(expect.port))))
    problems.push(`final stage does not EXPOSE ${expect.port}`);
  const cmd = expect.prisma ? '["node", "--liftoff-only", "dist/server.mjs"]' : '["node", "dist/server.mjs"]';
  if (of(final, 'CMD').at(-1)?.args !== cmd) problems.push(`final CMD is not ${cmd}`);
  // The memory settings the benchmarks were measured with (docs/benchmarks.md); bench/lib/image-runtime.mjs reads them from here.
  const env = of(final, 'ENV')
    .map((i) => i.args)
    .join(' ');
  if (!/NODE_OPTIONS="[^"]*--max-old-space-size=\d+[^"]*"/.test(env))
    problems.push('final stage sets no --max-old-space-size in NODE_OPTIONS');
  if (!/\bMALLOC_ARENA_MAX=\d+\b/.test(env)) problems.push('final stage does not set MALLOC_ARENA_MAX');
  // Production dependencies only: node_modules in the final stage come from a stage that ran npm ci --omit=dev.
  for (const copy of of(final, 'COPY').filter((i) => /node_modules/.test(i.args))) {
    const from = /--from=(\S+)/.exec(copy.args)?.[1]?.toLowerCase();
    const source = stages.find((s) => s.name === from);
    if (!source || !of(source, 'RUN').some((r) => /npm ci\b[^&]*--omit=dev/.test(r.args))) {
      problems.push(`line ${copy.line}: node_modules copied from a stage without npm ci --omit=dev`);
    }
  }
  if (!of(final, 'COPY').some((i) => /node_modules/.test(i.args)))
    problems.push('final stage copies no production node_modules');
  // OCI labels (https://github.com/opencontainers/image-spec/blob/main/annotations.md) with build-time values.
  const labels = of(final, 'LABEL')
    .map((i) => i.args)
    .join(' ');
  for (const key of ['source', 'version', 'revision', 'title']) {
    if (!new RegExp(`org\\.opencontainers\\.image\\.${key}=`).test(labels))
      problems.push(`final stage has no org.opencontainers.image.${key} label`);
  }
  // The migrations are applied by the runtime image's own migrator (node dist/migrate.mjs), not a second image.
  if (stages.some((s) => s.name === 'migrate'))
    problems.push('a migrate target (prisma migrate deploy needs the engine download; the runtime image migrates)');
  if (expect.migrate && !of(final, 'COPY').some((i) => /prisma\/migrations/.test(i.args)))
    problems.push('final stage does not copy prisma/migrations');
  return problems;
}

for (const [service, expect] of Object.entries(SERVICES)) {
  t.test(`services/${service}/Dockerfile`, async (t) => {
    t.same(dockerfileProblems(read(`services/${service}/Dockerfile`), expect), [], 'lint and image rules');
  });
}

t.test('the Dockerfile checks reject a bad Dockerfile', async (t) => {
  const bad = [
    'FROM node:20',
    'ENV NODE_ENV=production KEY_ENCRYPTION_SECRET=abc',
    'ARG DB_PASSWORD',
    'COPY node_modules ./node_modules',
    'EXPOSE 1234',
    'HEALTHCHECK NONE',
    'CMD ["node", "src/server.ts"]',
    'BOGUS instruction',
  ].join('\n');
  const problems = dockerfileProblems(bad, { port: 9000, migrate: true, prisma: true }).join('\n');
  for (const expected of [
    /dockerfile-utils .*Unknown instruction: BOGUS/,
    /not a multi-stage build/,
    /node:20 is not node:24/,
    /KEY_ENCRYPTION_SECRET looks like a secret/,
    /DB_PASSWORD looks like a secret/,
    /non-root USER/,
    /no HEALTHCHECK/,
    /EXPOSE 9000/,
    /final CMD is not \["node", "--liftoff-only", "dist\/server.mjs"\]/,
    /no --max-old-space-size/,
    /MALLOC_ARENA_MAX/,
    /node_modules copied from a stage without npm ci --omit=dev/,
    /does not copy prisma\/migrations/,
    /no org.opencontainers.image.revision label/,
  ])
    t.match(problems, expected);
  const rootUser = read('services/client-app/Dockerfile').replace(/^USER node$/m, 'USER root');
  t.match(dockerfileProblems(rootUser, SERVICES['client-app']).join('\n'), /non-root USER/);
});

t.test('.dockerignore keeps dependencies, local data, git and secrets out of the build context', async (t) => {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const required of ['node_modules', '**/node_modules', 'data', '.git', '.env', '**/dist', '**/generated']) {
    t.ok(patterns.includes(required), `.dockerignore lists ${required}`);
  }
});

t.test(
  'the lockfile nests no dependency under shared/common (the images bundle it and copy only the root node_modules)',
  async (t) => {
    const packages = Object.keys(
      (JSON.parse(read('package-lock.json')) as { packages: Record<string, unknown> }).packages,
    );
    t.same(
      packages.filter((p) => p.startsWith('shared/common/node_modules/')),
      [],
    );
  },
);

// ---------------------------------------------------------------- docker-compose.yml

const dockerCompose = commandExists('docker-compose')
  ? false
  : "docker-compose is not installed (.ci/run installs Debian's package)";

function composeConfig(file: string) {
  return spawnSync('docker-compose', ['-f', file, '--project-directory', root, 'config', '--quiet'], {
    cwd: root,
    encoding: 'utf8',
  });
}

t.test(
  'docker-compose config accepts docker-compose.yml and rejects a broken copy',
  { skip: dockerCompose },
  async (t) => {
    const ok = composeConfig(join(root, 'docker-compose.yml'));
    t.equal(ok.status, 0, `docker-compose config --quiet: ${ok.stderr}`);
    const dir = mkdtempSync(join(tmpdir(), 'quartet-compose-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const broken = join(dir, 'docker-compose.yml');
    writeFileSync(
      broken,
      read('docker-compose.yml').replace('condition: service_completed_successfully', 'condition: service_finished'),
    );
    const bad = composeConfig(broken);
    t.not(bad.status, 0, 'an unknown depends_on condition is refused');
    t.match(bad.stderr, /service_finished|condition/);
  },
);

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  network_mode?: string;
  ports?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  volumes?: string[];
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
const env = (name: string) => services[name]?.environment ?? {};

t.test('compose: the stack, its one-off jobs and their order', async (t) => {
  for (const name of [
    'postgres',
    'redis',
    'migrate-auth',
    'migrate-resource',
    'seed-auth',
    'seed-resource',
    'authorization-server',
    'resource-server',
    'client-app',
  ]) {
    t.ok(services[name], `service ${name}`);
  }
  const dependsOn = (name: string) =>
    Object.fromEntries(Object.entries(services[name]?.depends_on ?? {}).map(([k, v]) => [k, v.condition]));
  t.match(dependsOn('migrate-auth'), { postgres: 'service_healthy' });
  t.match(dependsOn('migrate-resource'), { postgres: 'service_healthy' });
  t.match(dependsOn('seed-auth'), { 'migrate-auth': 'service_completed_successfully' });
  t.match(dependsOn('seed-resource'), { 'migrate-resource': 'service_completed_successfully' });
  t.match(dependsOn('authorization-server'), {
    redis: 'service_healthy',
    'seed-auth': 'service_completed_successfully',
  });
  t.match(dependsOn('resource-server'), {
    'seed-resource': 'service_completed_successfully',
    'authorization-server': 'service_healthy',
  });
  t.match(dependsOn('client-app'), {
    redis: 'service_healthy',
    'authorization-server': 'service_healthy',
    'resource-server': 'service_healthy',
  });
  for (const name of ['postgres', 'redis', 'authorization-server', 'resource-server', 'client-app']) {
    t.ok(services[name]?.healthcheck?.test?.length, `${name} has a healthcheck`);
  }
  for (const [job, service] of [
    ['migrate-auth', 'authorization-server'],
    ['migrate-resource', 'resource-server'],
  ] as const) {
    t.same(services[job]?.command, ['node', 'dist/migrate.mjs'], `${job} runs the image's offline migrator`);
    t.equal(services[job]?.image, services[service]?.image, `${job} uses the ${service} image`);
  }
  for (const name of ['migrate-auth', 'migrate-resource', 'seed-auth', 'seed-resource']) {
    t.same(services[name]?.healthcheck, { disable: true }, `${name}: a one-off job, no server health check`);
  }
  // Hardened as in the Kubernetes manifests (and as test/containers.test.ts runs the images).
  for (const name of ['migrate-auth', 'migrate-resource', 'seed-auth', 'seed-resource', ...Object.keys(SERVICES)]) {
    t.equal(services[name]?.read_only, true, `${name}: read-only root file system`);
    t.same(services[name]?.cap_drop, ['ALL'], `${name}: no capabilities`);
    t.same(services[name]?.security_opt, ['no-new-privileges:true'], `${name}: no privilege escalation`);
  }
  for (const [job, service] of [
    ['seed-auth', 'authorization-server'],
    ['seed-resource', 'resource-server'],
  ] as const) {
    t.same(services[job]?.command, ['node', 'dist/seed.mjs'], `${job} runs the bundled seed`);
    t.equal(services[job]?.image, services[service]?.image, `${job} uses the ${service} image`);
  }
  for (const name of Object.keys(SERVICES)) {
    const build = services[name]?.build;
    t.equal(build?.dockerfile, `services/${name}/Dockerfile`);
    t.equal(build?.context, '.', 'build context is the repository root');
    const stages = parseDockerfile(read(build!.dockerfile)).map((s) => s.name);
    t.ok(stages.includes(build?.target), `target ${build?.target} exists in the Dockerfile`);
  }
  t.match(services.postgres?.volumes, [/^\.\/infra\/compose\/postgres-init:\/docker-entrypoint-initdb\.d/]);
});

t.test('compose: browser and services use the same URLs, ports 9000/9100/3000 on the host', async (t) => {
  const auth = env('authorization-server');
  const resource = env('resource-server');
  const client = env('client-app');
  t.equal(auth.ISSUER, 'http://localhost:9000');
  t.equal(resource.AUTHORIZATION_SERVER, auth.ISSUER, 'RS trusts the issuer the AS names itself');
  t.equal(client.AUTHORIZATION_SERVER, auth.ISSUER, 'client app discovers the same issuer');
  t.equal(resource.RESOURCE_ID, auth.RESOURCE_AUDIENCE, 'tokens are audienced to the RS');
  t.equal(client.RESOURCE_SERVER, resource.RESOURCE_ID);
  t.equal(auth.DEMO_CLIENT_REDIRECT_URI, `${client.PUBLIC_URL}/callback`);
  t.equal(client.CLIENT_SECRET, auth.DEMO_CLIENT_SECRET, 'client app and AS agree on the demo client secret');
  t.same(env('seed-auth'), auth, 'the seed stores the client the service serves');
  t.same(env('seed-resource'), resource);
  for (const e of [auth, resource, client]) t.equal(e.WORKSHOP_MODE, 'true', 'the npm start demo: workshop mode');
  // One shared network namespace, so localhost:<port> means the same service inside and outside.
  const holder = /^service:(.+)$/.exec(services['authorization-server']?.network_mode ?? '')?.[1];
  t.ok(holder, 'the AS joins a shared network namespace');
  for (const name of Object.keys(SERVICES)) t.equal(services[name]?.network_mode, `service:${holder}`);
  t.same(services[holder!]?.ports, ['127.0.0.1:9000:9000', '127.0.0.1:9100:9100', '127.0.0.1:3000:3000']);
  for (const name of Object.keys(SERVICES)) t.notOk(services[name]?.ports, `${name} publishes through ${holder}`);
});

t.test('compose: every secret is a demo-only value, and none reaches an image', async (t) => {
  let checked = 0;
  for (const [name, service] of Object.entries(services)) {
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      if (/SECRET|PASSWORD/.test(key)) {
        checked++;
        t.match(value, /^demo-only-/, `${name} ${key} is marked demo-only`);
      }
      if (/^postgres(ql)?:/.test(String(value))) {
        const password = decodeURIComponent(new URL(value).password);
        t.match(password, /^demo-only-/, `${name} ${key} password is marked demo-only`);
      }
    }
  }
  t.ok(checked >= 6, 'secrets were found and checked');
  for (const name of Object.keys(SERVICES)) {
    const dockerfile = read(`services/${name}/Dockerfile`);
    t.notMatch(dockerfile, /demo-only|demo-client-secret|wonderland/, `${name} image holds no demo secret`);
  }
});

// ---------------------------------------------------------------- PostgreSQL init script

t.test(
  'the init script gives each service its own database and role',
  { skip: needsRealDatabase || (commandExists('psql') ? false : 'psql is not installed') },
  async (t) => {
    const admin = new URL(process.env.TEST_DATABASE_URL!);
    const tag = `quartet_init_${randomBytes(4).toString('hex')}`;
    const dir = mkdtempSync(join(tmpdir(), 'quartet-init-'));
    const script = join(dir, 'init.sh');
    writeFileSync(
      script,
      read('infra/compose/postgres-init/10-quartet-databases.sh')
        .replaceAll('quartet_auth', `${tag}_auth`)
        .replaceAll('quartet_resource', `${tag}_resource`),
    );
    chmodSync(script, 0o755);
    const pgEnv = {
      ...process.env,
      PGHOST: admin.hostname,
      PGPORT: admin.port || '5432',
      PGPASSWORD: decodeURIComponent(admin.password),
    };
    const psql = (args: string[], extra: Record<string, string> = {}) =>
      spawnSync('psql', ['-v', 'ON_ERROR_STOP=1', '-tA', ...args], { env: { ...pgEnv, ...extra }, encoding: 'utf8' });
    t.teardown(() => {
      const user = decodeURIComponent(admin.username) || 'postgres';
      for (const sql of [
        `DROP DATABASE IF EXISTS ${tag}_auth WITH (FORCE)`,
        `DROP DATABASE IF EXISTS ${tag}_resource WITH (FORCE)`,
        `DROP ROLE IF EXISTS ${tag}_auth`,
        `DROP ROLE IF EXISTS ${tag}_resource`,
      ]) {
        psql(['-U', user, '-d', 'postgres', '-c', sql]);
      }
      rmSync(dir, { recursive: true, force: true });
    });
    const run = spawnSync('sh', [script], {
      env: {
        ...pgEnv,
        POSTGRES_USER: decodeURIComponent(admin.username) || 'postgres',
        QUARTET_AUTH_DB_PASSWORD: 'pw-auth',
        QUARTET_RESOURCE_DB_PASSWORD: "pw-'resource",
      },
      encoding: 'utf8',
    });
    t.equal(run.status, 0, `init script: ${run.stderr}`);
    const asRole = (role: string, password: string, db: string) =>
      psql(['-U', role, '-d', db, '-c', 'SELECT current_database()'], { PGPASSWORD: password });
    // The local server may trust every connection; ownership and CONNECT rights are what is checked here.
    const own = asRole(`${tag}_auth`, 'pw-auth', `${tag}_auth`);
    t.equal(own.status, 0, `the auth role opens its database: ${own.stderr}`);
    const other = asRole(`${tag}_auth`, 'pw-auth', `${tag}_resource`);
    t.not(other.status, 0, "the auth role cannot open the resource server's database");
    t.match(other.stderr, /permission denied/);
    const otherWay = asRole(`${tag}_resource`, "pw-'resource", `${tag}_auth`);
    t.not(otherWay.status, 0, "the resource role cannot open the authorization server's database");
    const owner = psql([
      '-U',
      decodeURIComponent(admin.username) || 'postgres',
      '-d',
      'postgres',
      '-c',
      `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '${tag}_resource'`,
    ]);
    t.equal(
      owner.stdout.trim(),
      `${tag}_resource`,
      'each database is owned by its role (migrations can create tables)',
    );
  },
);
