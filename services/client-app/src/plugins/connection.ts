// Access to the user's connection (the tokens in the server-side session) for the resource pages.
// - Pages that show user data redirect to / when the browser is not connected.
// - An access token that is expired or expires within EXPIRY_MARGIN_SECONDS is refreshed BEFORE the resource
//   server is called (RFC 6749 §6), and the rotated refresh token is stored (RFC 9700 §4.14.2).
// - A 401 invalid_token from the resource server (RFC 6750 §3.1) for a token we believed valid (revoked,
//   signing key rotated, clocks apart) triggers one refresh and one retry; a second 401 ends the connection.
// - Refreshes of one session run one at a time (sessions.exclusive) and re-read the session first, so two
//   concurrent page loads spend the refresh token once: the second one finds the tokens already renewed.
// - No refresh token, or the AS refuses it (invalid_grant: withdrawn, reused, expired): the tokens are
//   dropped and the user gets a "connect again" page (ConnectionEndedError), never a 500.
// - Refreshes and API calls belong to the flow that obtained the tokens (the trace id stored with them, in
//   workshop mode): they carry its traceparent and their protocol events name it, so the inspector records
//   them there. A refresh and an ended connection are events too (connection.refreshed, connection.ended).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ConnectionEndedError, RefreshRejectedError, ResourceError } from '../oauth/errors.js';
import { forgetDpopKey, isDpop, type StoredDpopKey } from '../oauth/dpop.js';
import { flowContext, type FlowContext } from '../oauth/events.js';
import type { ConnectedSession, StoredTokens } from './session.js';

/** Tokens this close to expiry are refreshed first: the request to the RS takes time and clocks differ. */
export const EXPIRY_MARGIN_SECONDS = 10;

export interface Connection {
  session: ConnectedSession;
  accessToken: string;
  /** True once this request obtained renewed tokens: a request refreshes at most once. */
  refreshed: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the `requireConnection` preHandler. */
    connection: Connection | null;
  }
  interface FastifyInstance {
    /** preHandler: 303 to / when not connected; refreshes an expiring access token; sets request.connection. */
    requireConnection(request: FastifyRequest, reply: FastifyReply): Promise<void>;
    /**
     * Calls the resource server through `call` with the access token (and the flow the tokens belong to, and
     * the DPoP key a DPoP token is bound to);
     * on ResourceError('token-rejected') refreshes once
     * and retries once (unless this request already refreshed).
     */
    withAccessToken<T>(
      request: FastifyRequest,
      call: (accessToken: string, flow?: FlowContext, dpopKey?: StoredDpopKey) => Promise<T>,
    ): Promise<T>;
  }
}

export function isExpiring(tokens: StoredTokens, nowSeconds = Date.now() / 1000): boolean {
  return tokens.expiresAt !== null && nowSeconds + EXPIRY_MARGIN_SECONDS >= tokens.expiresAt;
}

async function connectionPlugin(app: FastifyInstance) {
  app.decorateRequest('connection', null);

  /**
   * Returns the session with usable tokens, refreshing them if they are expiring or are the ones the RS just
   * rejected. Runs exclusively per session and decides on a fresh read of the session, so a refresh already
   * done by a concurrent request is reused instead of spending the (rotated, now invalid) refresh token again.
   */
  function renew(request: FastifyRequest, sessionId: string, rejectedAccessToken?: string): Promise<ConnectedSession> {
    return app.sessions.exclusive(sessionId, async () => {
      const session = await app.sessions.connected(request);
      // Another request dropped the tokens meanwhile (failed refresh, logout): same outcome for this one.
      if (!session) {
        app.events.emit('connection.ended', { request, reason: 'disconnected' });
        throw new ConnectionEndedError('disconnected');
      }
      const tokens = session.data.tokens;
      if (!isExpiring(tokens) && tokens.accessToken !== rejectedAccessToken) return session;

      const drop = async (reason: ConnectionEndedError['reason']) => {
        forgetDpopKey(tokens.dpopKey);
        delete (session.data as { tokens?: StoredTokens }).tokens;
        await app.sessions.save(session);
        app.events.emit('connection.ended', { request, reason });
        return new ConnectionEndedError(reason);
      };
      if (!tokens.refreshToken) throw await drop('no-refresh-token');
      let renewed;
      try {
        renewed = await app.oauthClient.refresh(
          tokens.refreshToken,
          tokens.scope,
          flowContext(request, tokens.traceId),
          tokens.dpopKey,
        );
      } catch (err) {
        if (!(err instanceof RefreshRejectedError)) throw err;
        // The error code only (never the token): invalid_grant is the user's doing, anything else is configuration.
        request.log[err.error === 'invalid_grant' ? 'info' : 'warn'](
          { oauthError: err.error },
          'refresh refused: tokens dropped, user must connect again',
        );
        throw await drop('refresh-rejected');
      }
      session.data.tokens = {
        accessToken: renewed.accessToken,
        tokenType: renewed.tokenType,
        scope: renewed.scope,
        expiresAt: renewed.expiresIn === null ? null : Math.floor(Date.now() / 1000) + renewed.expiresIn,
        ...(renewed.refreshToken ? { refreshToken: renewed.refreshToken } : {}),
        ...(tokens.dpopKey && isDpop(renewed.tokenType) ? { dpopKey: tokens.dpopKey } : {}),
        ...(tokens.traceId ? { traceId: tokens.traceId } : {}),
      };
      await app.sessions.save(session);
      const rotated = renewed.refreshToken !== tokens.refreshToken;
      request.log.info({ scope: renewed.scope, rotated }, 'tokens refreshed');
      app.events.emit('connection.refreshed', { request, scope: renewed.scope, rotated });
      return session;
    });
  }

  app.decorate('requireConnection', async (request: FastifyRequest, reply: FastifyReply) => {
    let session = await app.sessions.connected(request);
    if (!session) {
      // Awaiting the reply waits until it is sent, so Fastify skips the route handler.
      await reply.header('cache-control', 'no-store').redirect('/', 303);
      return;
    }
    let refreshed = false;
    if (isExpiring(session.data.tokens)) {
      session = await renew(request, session.id);
      refreshed = true;
    }
    request.connection = { session, accessToken: session.data.tokens.accessToken, refreshed };
  });

  app.decorate(
    'withAccessToken',
    async <T>(
      request: FastifyRequest,
      call: (accessToken: string, flow?: FlowContext, dpopKey?: StoredDpopKey) => Promise<T>,
    ): Promise<T> => {
      const connection = request.connection;
      if (!connection) throw new ResourceError('token-rejected', { description: 'not connected' });
      const flow = () => flowContext(request, request.connection?.session.data.tokens.traceId);
      const key = () => request.connection?.session.data.tokens.dpopKey;
      try {
        return await call(connection.accessToken, flow(), key());
      } catch (err) {
        // A token we just renewed is not retried: the rejection is not about staleness (html-errors ends the connection).
        if (!(err instanceof ResourceError && err.reason === 'token-rejected') || connection.refreshed) throw err;
        const session = await renew(request, connection.session.id, connection.accessToken);
        request.connection = { session, accessToken: session.data.tokens.accessToken, refreshed: true };
        return call(request.connection.accessToken, flow(), key());
      }
    },
  );
}

export default fp(connectionPlugin, { name: 'connection', dependencies: ['events', 'session', 'oauth-client'] });
