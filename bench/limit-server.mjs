// The machine's limit for the two hottest paths, as the performance targets define it: "a minimal Fastify + ioredis + pg +
// jose program doing the same work". It runs in its own process beside the services, on the same bench
// databases and Redis prefix, so the bench can measure it in the same run as Quartet and print how close
// Quartet gets (absolute numbers on these shared machines drift by 3× within a day; the ratio does not).
//
// POST /oauth/token   authorization_code only: Basic client authentication (SHA-256 secret hash, constant-time
//                     compare; the client read once at start, as Quartet's client cache does), GETDEL of a code
//                     the real authorization server issued (same key layout), client / redirect_uri / PKCE S256
//                     checks, the grant and its refresh token inserted in one statement, an RFC 9068 token
//                     signed with jose (ES256), the RFC 6749 §5.1 JSON response.
// GET /photos/:id     Bearer token verified with jose against the authorization server's JWKS (alg, typ,
//                     iss, aud, required claims), the photo read by id and owner, JSON response.
//
// Deliberately none of a product's other work: no logging, metrics, security headers, schemas, error
// catalogue or replay detection. Not a product: bench-only, and it answers only what the bench sends.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import Redis from 'ioredis';
import pg from 'pg';
import { SignJWT, createRemoteJWKSet, generateKeyPair, jwtVerify } from 'jose';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const sha256 = (s, enc) => createHash('sha256').update(s).digest(enc);

const issuer = env('ISSUER');
const audience = env('AUDIENCE');
const clientId = env('CLIENT_ID');
const authDb = new pg.Pool({ connectionString: env('AUTH_DATABASE_URL') });
const resourceDb = new pg.Pool({ connectionString: env('RESOURCE_DATABASE_URL') });
const redis = new Redis(env('REDIS_URL'), { keyPrefix: env('REDIS_PREFIX') });
const {
  rows: [client],
} = await authDb.query('SELECT "secret_hash" FROM "clients" WHERE "id" = $1', [clientId]);
if (!client?.secret_hash) throw new Error(`client ${clientId} not found or has no secret`);
const secretHash = Buffer.from(client.secret_hash, 'hex');
const { privateKey } = await generateKeyPair('ES256');
const kid = randomUUID();
const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));

const app = Fastify({ logger: false });
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
  done(null, Object.fromEntries(new URLSearchParams(body)));
});
const oauthError = (reply, status, error) => reply.code(status).send({ error });

app.post('/oauth/token', async (req, reply) => {
  const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
  const [id, secret] = basic ? Buffer.from(basic[1], 'base64').toString().split(':').map(decodeURIComponent) : [];
  if (id !== clientId || !timingSafeEqual(Buffer.from(sha256(secret ?? '', 'hex'), 'hex'), secretHash))
    return oauthError(reply, 401, 'invalid_client');
  const { grant_type: grantType, code, code_verifier: verifier, redirect_uri: redirectUri } = req.body ?? {};
  if (grantType !== 'authorization_code' || !code || !verifier) return oauthError(reply, 400, 'invalid_request');
  const raw = await redis.getdel(`code:${sha256(code, 'base64url')}`);
  const data = raw && JSON.parse(raw);
  if (
    !data ||
    data.clientId !== id ||
    data.redirectUri !== redirectUri ||
    sha256(verifier, 'base64url') !== data.codeChallenge
  ) {
    return oauthError(reply, 400, 'invalid_grant');
  }
  const now = new Date();
  const expiresAt = new Date(now.getTime() + 30 * 86400_000);
  const grantId = randomUUID();
  const refreshToken = randomBytes(32).toString('base64url');
  await authDb.query(
    `WITH g AS (
       INSERT INTO "grants" ("id", "user_id", "client_id", "scopes", "resource", "code_hash", "code_challenge", "created_at", "expires_at")
       VALUES ($1::uuid, $2::uuid, $3, $4::text[], $5, $6, $7, $8, $9) RETURNING "id")
     INSERT INTO "refresh_tokens" ("id", "grant_id", "token_hash", "created_at", "expires_at")
     SELECT $10::uuid, g."id", $11, $8, $9 FROM g`,
    [
      grantId,
      data.userId,
      id,
      data.scopes,
      data.resource,
      sha256(code, 'base64url'),
      data.codeChallenge,
      now,
      expiresAt,
      randomUUID(),
      sha256(refreshToken, 'base64url'),
    ],
  );
  const scope = data.scopes.join(' ');
  const accessToken = await new SignJWT({ client_id: id, scope, grant_id: grantId })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
    .setIssuer(issuer)
    .setSubject(data.userId)
    .setAudience(data.resource)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
  reply.header('cache-control', 'no-store');
  return { access_token: accessToken, token_type: 'Bearer', expires_in: 300, scope, refresh_token: refreshToken };
});

app.get('/photos/:id', async (req, reply) => {
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  if (!bearer) return oauthError(reply, 401, 'invalid_token');
  let payload;
  try {
    ({ payload } = await jwtVerify(bearer[1], jwks, {
      issuer,
      audience,
      algorithms: ['ES256'],
      typ: 'at+jwt',
      clockTolerance: 5,
      requiredClaims: ['sub', 'client_id', 'scope', 'jti', 'iat', 'exp'],
    }));
  } catch {
    return oauthError(reply, 401, 'invalid_token');
  }
  if (!String(payload.scope).split(' ').includes('photos:read')) return oauthError(reply, 403, 'insufficient_scope');
  const {
    rows: [photo],
  } = await resourceDb.query(
    'SELECT "id", "title", "content_type" AS "contentType", "created_at" AS "createdAt" FROM "photos" WHERE "id" = $1 AND "owner_sub" = $2',
    [req.params.id, payload.sub],
  );
  if (!photo) return reply.code(404).send({ error: 'not_found' });
  return photo;
});

app.get('/readyz', async () => ({ status: 'ready' }));
await app.listen({ port: Number(env('PORT')), host: '127.0.0.1' });
const stop = async () => {
  await app.close();
  await Promise.allSettled([authDb.end(), resourceDb.end(), redis.quit()]);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
