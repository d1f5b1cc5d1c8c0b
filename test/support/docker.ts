// Docker for the container tests (test/containers.test.ts, test/compose.test.ts, test/drills.test.ts): the
// images test/containers/build-images.sh makes, run with the docker CLI, on the host's network or on a
// network of their own, and removed in teardown.
// Without a Docker engine or without the images, those tests are skipped with the reason — except in CI,
// which sets QUARTET_DOCKER=1 after building the images and must run them.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEmptyServerDatabase } from '@quartet/testing';
import { root } from './processes.js';

export const SERVICES = ['authorization-server', 'resource-server', 'client-app'] as const;
export type Service = (typeof SERVICES)[number];
export const image = (service: Service) => `quartet/${service}:local`;
export const TEST_IMAGES = {
  postgres: 'quartet-test/postgres:local',
  redis: 'quartet-test/redis:local',
  haproxy: 'quartet-test/haproxy:local',
};

interface Tap {
  teardown(fn: () => unknown): void;
  comment(...args: unknown[]): void;
  fail(message: string): void;
  plan(n: number, reason?: string): void;
}

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the docker CLI and waits (for short commands: inspect, rm, exec). */
export function docker(args: string[], timeoutMs = 120_000): Result {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** Runs the docker CLI without blocking the event loop (for commands that take seconds while traffic runs). */
export function dockerAsync(args: string[], timeoutMs = 180_000, command = 'docker'): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Why the container tests cannot run here, or undefined when they can. */
export function dockerProblem(images: string[]): string | undefined {
  const info = docker(['info', '--format', '{{.ServerVersion}}'], 20_000);
  if (info.status !== 0) return `no Docker engine (docker info: ${info.stderr.trim().split('\n')[0] || 'failed'})`;
  const missing = images.filter((name) => docker(['image', 'inspect', name]).status !== 0);
  if (missing.length) return `images missing: ${missing.join(', ')} (run test/containers/build-images.sh)`;
  return undefined;
}

/**
 * True when the test file can run its containers; otherwise plans zero tests with the reason, or fails when
 * CI (QUARTET_DOCKER=1) requires them.
 */
export function dockerReady(t: Tap, images: string[]): boolean {
  const problem = dockerProblem(images);
  if (!problem) return true;
  if (process.env.QUARTET_DOCKER === '1') t.fail(`QUARTET_DOCKER=1 but ${problem}`);
  else t.plan(0, problem);
  return false;
}

/** A name no other run uses, for containers, networks and Compose projects. */
export const uniqueName = (label: string) => `quartet-${label}-${randomBytes(3).toString('hex')}`;

export interface ContainerOptions {
  name: string;
  image: string;
  env?: Record<string, string>;
  /** Command after the image name; the image's CMD when absent. */
  command?: string[];
  /** `host` (the host's loopback, the default) or the name of a Docker network. */
  network?: string;
  /** Extra `docker run` options (volumes, ports). */
  options?: string[];
}

/**
 * The hardened way every Quartet container runs here, as the Kubernetes manifests run it: read-only root file
 * system, no capabilities, no privilege escalation, the image's own non-root user.
 */
export const HARDENED = ['--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'];

function runArgs(o: ContainerOptions): string[] {
  const env = Object.entries(o.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  return [
    '--name',
    o.name,
    '--network',
    o.network ?? 'host',
    ...env,
    ...(o.options ?? []),
    o.image,
    ...(o.command ?? []),
  ];
}

/** Runs a one-off container to its end (`docker run --rm`), as a Job or a Compose one-off service does. */
export async function runOnce(o: ContainerOptions): Promise<Result> {
  return dockerAsync(['run', '--rm', ...runArgs(o)]);
}

export interface Container {
  name: string;
  logs(): string;
  /** docker inspect's State.Health.Status ('starting', 'healthy', 'unhealthy'), or '' without HEALTHCHECK. */
  health(): string;
  remove(): void;
}

/** Starts a long-running container (removed in teardown). */
export async function startContainer(t: Tap, o: ContainerOptions): Promise<Container> {
  const container: Container = {
    name: o.name,
    logs: () => {
      const r = docker(['logs', o.name]);
      return r.stdout + r.stderr;
    },
    health: () =>
      docker(['inspect', '--format', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', o.name]).stdout.trim(),
    remove: () => void docker(['rm', '-f', '-v', o.name]),
  };
  t.teardown(() => container.remove());
  const r = await dockerAsync(['run', '-d', ...runArgs(o)]);
  if (r.status !== 0) throw new Error(`docker run ${o.name} failed: ${r.stderr}`);
  return container;
}

/** Polls until `check` is true; throws with `what` and the last state after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 90_000,
  describe: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s\n${describe()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** True when `url` answers 2xx within a second. */
export const answers = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.ok,
    () => false,
  );

/** An empty database on the test PostgreSQL server (the images' migrator fills it), dropped in teardown. */
export async function emptyDatabase(t: Tap, label: string): Promise<string> {
  const database = await createEmptyServerDatabase(label);
  t.teardown(() => database.drop());
  return database.url!;
}

/** The version a service's image must carry (its package.json). */
export const serviceVersion = (service: Service): string =>
  JSON.parse(readFileSync(join(root, 'services', service, 'package.json'), 'utf8')).version;
