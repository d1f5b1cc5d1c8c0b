// What happens after /authorize has validated a request (RFC 6749 §4.1.1-§4.1.2): log in if there is no
// session, ask for consent unless a stored consent covers the scopes for this resource (RFC 8707: approving
// one API is not approving another) and the client can authenticate, then send a code back with state and
// iss (RFC 9207). Shared by the protocol route and the interaction routes so they decide the same way.
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { AuthorizationRequest, CodeData } from '../domain/records.js';
import type { LoginSession } from './login-sessions.js';
import { generateCode } from '../stores/codes.js';
import { expiredRequest } from './pages.js';
import { authorizationResponseUrl } from '../oauth/authorization-response.js';
import { covers } from '../lib/scopes.js';

export const LOGIN_PATH = '/interaction/login';
export const CONSENT_PATH = '/interaction/consent';
/** The user's own page of approved clients (under /interaction, where the CSRF cookie is scoped). */
export const CONNECTED_APPS_PATH = '/interaction/connected-apps';
/** Ends the login session (GET asks, POST signs out); advertised as end_session_endpoint. */
export const LOGOUT_PATH = '/interaction/logout';

export class AuthorizationFlow {
  constructor(private readonly app: FastifyInstance) {}

  /** The URL the browser goes to next for a stored request. */
  async next(requestId: string, request: AuthorizationRequest, session: LoginSession | null): Promise<string> {
    const query = `?request=${encodeURIComponent(requestId)}`;
    if (!session) return LOGIN_PATH + query;
    // RFC 6749 §10.2 and RFC 8252 §8.6: the server cannot tell a public client from an impostor using its
    // client_id and redirect URI, so such a client is never approved without the user seeing the request.
    if (request.publicClient) return CONSENT_PATH + query;
    const granted = await this.app.consents.grantedScopes(session.userId, request.clientId, request.resource);
    if (!covers(granted, request.scopes)) return CONSENT_PATH + query;
    const pending = await this.app.authorizationRequests.consume(requestId);
    if (!pending) throw expiredRequest();
    this.app.events.emit('consent.remembered', { requestId, clientId: request.clientId, scopes: request.scopes });
    return this.issueCode(requestId, pending, session.userId);
  }

  /**
   * Records the consent (merged with earlier ones) and answers with a code. The request is taken only after
   * the consent is stored, so a database outage leaves it in place for a retry; taking it means a double
   * submit gets one answer.
   */
  async approve(requestId: string, userId: string): Promise<string> {
    const request = await this.app.authorizationRequests.get(requestId);
    if (!request) throw expiredRequest();
    await this.app.consents.grant(userId, request.clientId, request.resource, request.scopes);
    const pending = await this.app.authorizationRequests.consume(requestId);
    if (!pending) throw expiredRequest();
    this.app.events.emit('consent.approved', { requestId, clientId: request.clientId, scopes: request.scopes });
    return this.issueCode(requestId, pending, userId);
  }

  /** RFC 6749 §4.1.2.1 access_denied: the user refused. */
  async deny(requestId: string): Promise<string> {
    const request = await this.app.authorizationRequests.consume(requestId);
    if (!request) throw expiredRequest();
    return authorizationResponseUrl(request.redirectUri, {
      error: 'access_denied',
      error_description: 'The user denied the request.',
      state: request.state,
      iss: this.app.config.ISSUER,
    });
  }

  private async issueCode(requestId: string, request: AuthorizationRequest, userId: string): Promise<string> {
    const code = generateCode();
    const data: CodeData = {
      clientId: request.clientId,
      userId,
      redirectUri: request.redirectUri,
      redirectUriProvided: request.redirectUriProvided,
      codeChallenge: request.codeChallenge,
      scopes: request.scopes,
      resource: request.resource,
      // RFC 9449 §10: the code is bound to the key the request named.
      ...(request.dpopJkt !== undefined ? { dpopJkt: request.dpopJkt } : {}),
    };
    const ttlSeconds = this.app.config.AUTHORIZATION_CODE_TTL;
    await this.app.codes.save(code, data);
    this.app.events.emit('code.issued', { requestId, code, data, ttlSeconds });
    return authorizationResponseUrl(request.redirectUri, { code, state: request.state, iss: this.app.config.ISSUER });
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    authorizationFlow: AuthorizationFlow;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    app.decorate('authorizationFlow', new AuthorizationFlow(app));
  },
  {
    name: 'authorization-flow',
    dependencies: ['config', 'events', 'repositories', 'code-store', 'authorization-requests'],
  },
);
