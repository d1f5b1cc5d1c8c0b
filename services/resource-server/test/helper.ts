// Test scaffolding: a fresh database per test file (PostgreSQL with TEST_DATABASE_URL, else embedded PGlite;
// migrated with the real migration files), a REAL local HTTP server standing in for the authorization
// server (RFC 8414 metadata + JWKS for keys the test generates with jose, counting requests), token minting,
// and the app built against both.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SignJWT,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { FastifyInstance } from 'fastify';
import {
  TEST_TRACE_SECRET,
  adminDatabaseUrl,
  createTestDatabase,
  dropServerDatabase,
  realDatabase,
  type TestDatabase,
} from '@quartet/testing';
import { buildApp, type BuildOptions } from '../src/app.js';
import { readConfig, type Config } from '../src/config.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../prisma/migrations', import.meta.url));
export const RESOURCE_ID = 'http://localhost:9100';
export const ALICE = 'a11ce000-0000-4000-8000-000000000001';
export const BOB = 'b0b00000-0000-4000-8000-000000000002';
export const ALL_SCOPES = 'photos:read photos:write documents:read documents:write';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function createSigningKey(kid = `k-${randomUUID().slice(0, 8)}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

export interface TokenOptions {
  /** Claims to add or override; a value of undefined removes the claim. */
  claims?: Record<string, unknown>;
  /** Header fields to add or override; undefined removes the field. */
  header?: Record<string, unknown>;
  /** Sign with this key instead of the AS's current one. */
  key?: SigningKey;
}

/** A stand-in authorization server: a real HTTP server on 127.0.0.1 serving metadata and a JWKS. */
export class FakeAuthorizationServer {
  keys: SigningKey[] = [];
  /** Keys signing happens with (the last one added). */
  current!: SigningKey;
  metadataRequests = 0;
  jwksRequests = 0;
  /** Overrides for misbehaving-AS tests. */
  metadataOverride: Record<string, unknown> | null = null;
  jwksStatus = 200;
  /**
   * An outage of both endpoints (requests are still counted): `error` answers 500, `hang` never answers (the
   * connection stays open until stop()), `close` drops the connection without an answer.
   */
  fault: 'error' | 'hang' | 'close' | null = null;
  private server: http.Server | null = null;
  port = 0;

  static async start(): Promise<FakeAuthorizationServer> {
    const as = new FakeAuthorizationServer();
    await as.addKey();
    await as.listen();
    return as;
  }

  get issuer(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async addKey(key?: SigningKey): Promise<SigningKey> {
    const k = key ?? (await createSigningKey());
    this.keys.push(k);
    this.current = k;
    return k;
  }

  async listen(): Promise<void> {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/.well-known/oauth-authorization-server') this.metadataRequests++;
      if (path === '/.well-known/jwks.json') this.jwksRequests++;
      if (this.fault === 'error') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('down');
      if (this.fault === 'hang') return;
      if (this.fault === 'close') return void req.socket.destroy();
      if (path === '/.well-known/oauth-authorization-server') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            issuer: this.issuer,
            jwks_uri: `${this.issuer}/.well-known/jwks.json`,
            ...this.metadataOverride,
          }),
        );
      } else if (path === '/.well-known/jwks.json') {
        res.writeHead(this.jwksStatus, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: this.keys.map((k) => k.publicJwk) }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    server.keepAliveTimeout = 100;
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Takes the server down (port freed; a later listen() reuses it): "the AS is unreachable". */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** An RFC 9068 access token for alice with every scope, valid for 5 minutes, unless overridden. */
  async token(options: TokenOptions = {}): Promise<string> {
    const key = options.key ?? this.current;
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      sub: ALICE,
      aud: RESOURCE_ID,
      client_id: 'demo-client',
      scope: ALL_SCOPES,
      jti: randomUUID(),
      iat: now,
      exp: now + 300,
      ...options.claims,
    };
    const header: Record<string, unknown> = { alg: 'ES256', typ: 'at+jwt', kid: key.kid, ...options.header };
    return new SignJWT(dropUndefined(claims) as JWTPayload)
      .setProtectedHeader(dropUndefined(header) as { alg: string })
      .sign(key.privateKey);
  }
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/**
 * The config the service would load from `env` (the test database's DATABASE_URL or DATA_DIR, and so on),
 * with quiet logs and an ephemeral port; `overrides` are applied last.
 */
export function testConfig(env: NodeJS.ProcessEnv = {}, overrides: Partial<Config> = {}): Config {
  // WORKSHOP_TRACE_SECRET is read only in workshop mode, where it is required.
  const base = {
    PORT: '0',
    LOG_LEVEL: 'silent',
    RESOURCE_ID,
    AUTHORIZATION_SERVER: 'http://127.0.0.1:1',
    WORKSHOP_TRACE_SECRET: TEST_TRACE_SECRET,
  };
  return { ...readConfig({ ...base, ...env }), ...overrides };
}

export interface TestContext {
  app: FastifyInstance;
  as: FakeAuthorizationServer;
  db: TestDatabase;
  config: Config;
}

interface Teardownable {
  teardown(fn: () => unknown): void;
}

/**
 * Builds the app against a fresh database (a PostgreSQL database with TEST_DATABASE_URL, else an embedded
 * PGlite folder) and a running fake AS; everything is closed in `t`'s teardown. `databaseUrl` lets a test
 * route a real PostgreSQL through a TcpProxy.
 */
export async function setup(
  t: Teardownable,
  options: BuildOptions & {
    databaseUrl?: (url: string) => string;
    config?: Partial<Config>;
    env?: NodeJS.ProcessEnv;
  } = {},
): Promise<TestContext> {
  const { databaseUrl, config: overrides, env, ...buildOptions } = options;
  const db = await createTestDatabase(MIGRATIONS_DIR, 'rs');
  const as = await FakeAuthorizationServer.start();
  const config = testConfig({ ...db.env, AUTHORIZATION_SERVER: as.issuer, ...env }, overrides);
  if (databaseUrl && config.DATABASE_URL) config.DATABASE_URL = databaseUrl(config.DATABASE_URL);
  const cleanUp = async () => {
    await as.stop();
    await db.drop();
  };
  const app = await buildApp(config, { logger: false, ...buildOptions }).catch(async (err: unknown) => {
    await cleanUp();
    throw err;
  });
  // One teardown, in order: the app closes the database before its folder (or database) is removed.
  t.teardown(async () => {
    await app.close();
    await cleanUp();
  });
  return { app, as, db, config };
}

/** A store nothing has touched: an empty folder, or the name of a database that does not exist yet. */
export async function freshStore(t: { teardown(fn: () => unknown): void }): Promise<NodeJS.ProcessEnv> {
  if (!realDatabase) {
    const dir = await mkdtemp(join(tmpdir(), 'quartet-rs-fresh-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    return { DATA_DIR: join(dir, 'data') };
  }
  const name = `quartet_rs_fresh_${randomBytes(4).toString('hex')}`;
  const url = new URL(adminDatabaseUrl());
  url.pathname = `/${name}`;
  t.teardown(() => dropServerDatabase(name));
  return { DATABASE_URL: url.toString() };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A client's DPoP key pair (RFC 9449 §2) and its RFC 7638 thumbprint, the cnf.jkt of tokens bound to it. */
export interface DpopKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  jkt: string;
}

export async function createDpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256') };
}

export interface ProofOptions {
  /** Claims to add or override (htm, htu, ath, jti, iat …); a value of undefined removes the claim. */
  claims?: Record<string, unknown>;
  /** Header fields to add or override; undefined removes the field. */
  header?: Record<string, unknown>;
  /** Defaults to ES256. */
  alg?: string;
}

/** RFC 9449 §4.2: ath, the base64url SHA-256 of the access token. */
export const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * An RFC 9449 §4.2 DPoP proof for `htm` `htu` signed with `key`: typ dpop+jwt, the public key in jwk, a fresh
 * jti, iat now, and ath of `accessToken` when given.
 */
export async function dpopProof(
  key: DpopKey,
  htm: string,
  htu: string,
  accessToken?: string,
  options: ProofOptions = {},
): Promise<string> {
  const claims: Record<string, unknown> = {
    htm,
    htu,
    jti: randomUUID(),
    iat: Math.floor(Date.now() / 1000),
    ...(accessToken === undefined ? {} : { ath: ath(accessToken) }),
    ...options.claims,
  };
  const header: Record<string, unknown> = {
    alg: options.alg ?? 'ES256',
    typ: 'dpop+jwt',
    jwk: key.publicJwk,
    ...options.header,
  };
  return new SignJWT(dropUndefined(claims) as JWTPayload)
    .setProtectedHeader(dropUndefined(header) as { alg: string })
    .sign(key.privateKey);
}

/** The headers of a DPoP request (RFC 9449 §7.1): `Authorization: DPoP <token>` and the proof. */
export const dpop = (token: string, proof: string) => ({ authorization: `DPoP ${token}`, dpop: proof });

/** POST /documents, which must answer 201 Created; the new document's id and creation time. */
export async function createDocument(
  t: { equal(found: unknown, wanted: unknown, message: string): unknown },
  app: FastifyInstance,
  headers: Record<string, string>,
  payload: { title: string; content: string },
): Promise<{ id: string; createdAt: string }> {
  const created = await app.inject({ method: 'POST', url: '/documents', headers, payload });
  t.equal(created.statusCode, 201, 'document created');
  return created.json();
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition()` holds (checking every 10 ms); fails after `timeoutMs`. */
export async function until(condition: () => boolean, what = 'condition', timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
