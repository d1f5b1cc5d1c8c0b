// Access tokens as JWTs per RFC 9068: header typ "at+jwt", ES256, kid; claims iss, sub, aud, client_id,
// scope, jti, iat, exp. Signed with jose.
import { randomUUID } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import type { KeyManager } from './key-manager.js';

export interface AccessTokenRequest {
  userId: string;
  clientId: string;
  scopes: string[];
}

export class AccessTokenIssuer {
  constructor(
    private readonly keys: KeyManager,
    private readonly issuer: string,
    private readonly audience: string,
    private readonly ttlSeconds: number,
  ) {}

  async issue(req: AccessTokenRequest): Promise<{ token: string; expiresIn: number; scope: string }> {
    const { kid, alg, key } = this.keys.signingKey();
    const scope = req.scopes.join(' ');
    const token = await new SignJWT({ client_id: req.clientId, scope })
      .setProtectedHeader({ typ: 'at+jwt', alg, kid })
      .setIssuer(this.issuer)
      .setSubject(req.userId)
      .setAudience(this.audience)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(key);
    return { token, expiresIn: this.ttlSeconds, scope };
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    accessTokens: AccessTokenIssuer;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    const { ISSUER, RESOURCE_AUDIENCE, ACCESS_TOKEN_TTL } = app.config;
    app.decorate('accessTokens', new AccessTokenIssuer(app.keys, ISSUER, RESOURCE_AUDIENCE, ACCESS_TOKEN_TTL));
  },
  { name: 'access-tokens', dependencies: ['config', 'key-manager'] },
);
