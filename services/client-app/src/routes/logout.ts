// POST /logout: revokes the refresh token at the authorization server (RFC 7009 §2.1, client-authenticated,
// token_type_hint=refresh_token; the AS then also retires the grant's access tokens where it can), then
// destroys the server-side session (tokens included) and its cookie. If the AS cannot be reached or refuses,
// the user is still logged out here and the failure is logged (without the token): a logout must never be
// blocked by another server. CSRF-protected twice: the session cookie is SameSite=Lax (not sent on
// cross-site POSTs) and the form carries a token of @fastify/csrf-protection (checked once there is a session
// to end: without one there is nothing a forged logout could do).
// GET /signed-out then says so, and offers to sign out at the authorization server too: its login session
// outlives ours, so without that the next "Connect" on this browser would need no password. That is the
// authorization server's own page (its end_session_endpoint): only it can end its session, after asking.
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import * as oauth from 'oauth4webapi';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { flowContext } from '../oauth/events.js';
import { forgetDpopKey } from '../oauth/dpop.js';

const LogoutBody = Type.Object({ _csrf: Type.String({ maxLength: 256 }) }, { additionalProperties: true });

export default async function logoutRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  async function revokeQuietly(
    request: FastifyRequest,
    refreshToken: string,
    traceId: string | undefined,
  ): Promise<void> {
    try {
      const outcome = await app.oauthClient.revokeRefreshToken(refreshToken, flowContext(request, traceId));
      if (outcome === 'revoked') request.log.info('logout: refresh token revoked at the authorization server');
      else
        request.log.warn(
          'logout: the authorization server advertises no revocation_endpoint; tokens dropped locally only',
        );
    } catch (err) {
      // Name, message and OAuth error code only: never the token, never the upstream body.
      const e = err instanceof Error ? err : new Error(String(err));
      const oauthError = err instanceof oauth.ResponseBodyError ? err.error : undefined;
      request.log.warn(
        { err: { name: e.name, message: e.message }, oauthError },
        'logout: refresh token revocation failed; logged out locally anyway',
      );
    }
  }

  /** The CSRF check, once there is a session to end. */
  function csrfIfSession(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    app.sessions.load(request).then(
      (session) => (session ? app.csrfProtection(request, reply, done) : done()),
      (err: Error) => done(err),
    );
  }

  app.post('/logout', { schema: { body: LogoutBody }, preHandler: csrfIfSession }, async (request, reply) => {
    const session = await app.sessions.load(request);
    if (!session) {
      // Nothing to end (expired or never existed): still drop any stale cookie.
      await app.sessions.destroy(request, reply);
      return reply.redirect('/', 303);
    }
    // In the session's queue: a refresh running in a concurrent page load finishes first, so we revoke the
    // refresh token it rotated to (not the spent one), and it cannot write the session back after we destroyed it.
    await app.sessions.exclusive(session.id, async () => {
      const current = await app.sessions.load(request);
      const refreshToken = current?.data.tokens?.refreshToken;
      if (refreshToken) await revokeQuietly(request, refreshToken, current?.data.tokens?.traceId);
      // The DPoP key goes with the session: its in-process handle (and the nonces it kept) too.
      forgetDpopKey(current?.data.tokens?.dpopKey);
      await app.sessions.destroy(request, reply);
    });
    return reply.redirect('/signed-out', 303);
  });

  app.get('/signed-out', async (_request, reply) => {
    const endSession = await app.oauthClient.endSessionUrl();
    return reply.showMessage({
      status: 200,
      heading: 'You are signed out of this app',
      explanation: endSession
        ? 'This app has forgotten your tokens. You may still be signed in at the authorization server, so the next "Connect" would not ask for your password: sign out there too if this is a shared computer.'
        : 'This app has forgotten your tokens.',
      action: endSession
        ? { href: endSession, label: 'Sign out at the authorization server too' }
        : { href: '/', label: 'Back to the start' },
      ...(endSession ? { secondaryAction: { href: '/', label: 'Back to the start' } } : {}),
    });
  });
}
