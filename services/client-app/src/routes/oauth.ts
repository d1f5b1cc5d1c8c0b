// The client's side of the authorization-code flow (RFC 6749 §4.1) with PKCE (RFC 7636) and issuer
// identification (RFC 9207):
//   GET /connect   — new state + code_verifier bound to this browser's session, 303 to the AS /authorize;
//   GET /callback  — checks state (one-time, same browser: RFC 6749 §10.12) and iss BEFORE any token request,
//                    then exchanges the code and keeps the tokens in the server-side session only.
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import * as oauth from 'oauth4webapi';
import { PageError, UpstreamUnavailableError } from '../errors.js';

const CallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 2048 })),
    state: Type.Optional(Type.String({ maxLength: 2048 })),
    iss: Type.Optional(Type.String({ maxLength: 2048 })),
    error: Type.Optional(Type.String({ maxLength: 256 })),
    error_description: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: true },
);

const restart = { href: '/connect', label: 'Start again' };

function untrusted(explanation: string): PageError {
  return new PageError(400, 'This sign-in response cannot be used', explanation, { action: restart });
}

export default async function oauthRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  // A plain link (GET) is enough here: starting a flow changes nothing the user cares about, and the state
  // and verifier are bound to the session of the browser that started it, so a forged start gains nothing.
  app.get('/connect', async (request, reply) => {
    // Metadata first: if the AS is down the user gets a 503 before we create anything.
    const start = await app.oauthClient.startAuthorization();
    const session = await app.sessions.loadOrCreate(request, reply);
    await app.pendingAuthorizations.save(session, { state: start.state, codeVerifier: start.codeVerifier, createdAt: Date.now() });
    return reply.header('cache-control', 'no-store').redirect(start.url.href, 303);
  });

  app.get('/callback', { schema: { querystring: CallbackQuery } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const parameters = new URLSearchParams(request.url.split('?')[1] ?? '');
    const state = parameters.get('state');
    // RFC 6749 §10.12: without our state we cannot know this response answers a request this browser made.
    if (!state) throw untrusted('The response carries no "state", so it cannot be matched to a sign-in started in this browser.');
    const session = await app.sessions.load(request);
    if (!session) throw untrusted('No sign-in was started in this browser (or it expired), so the response was ignored.');
    // Atomic take: the state and verifier are used once, whatever happens next (success, error, or a bad iss).
    const pending = await app.pendingAuthorizations.take(session, state);
    if (!pending) {
      throw untrusted('The "state" does not match a sign-in in progress in this browser: it is unknown, expired, or was already used.');
    }

    let validated: URLSearchParams;
    try {
      // Checks state again (constant string compare) and `iss` against the discovered issuer (RFC 9207 §2.4).
      validated = await app.oauthClient.validateCallback(parameters, pending.state);
    } catch (err) {
      if (!(err instanceof oauth.AuthorizationResponseError)) throw err;
      // A genuine error response from our AS for our request (RFC 6749 §4.1.2.1).
      if (err.error === 'access_denied') {
        return reply.showMessage({
          status: 200,
          heading: 'No problem — nothing was shared',
          explanation: 'You declined to give this app access to your photos. It has no access to anything of yours. You can connect at any time.',
          action: { href: '/', label: 'Back to the start' },
        });
      }
      if (err.error === 'temporarily_unavailable') throw new UpstreamUnavailableError('authorization server', err);
      throw new PageError(400, 'The authorization server refused the request', `It answered "${err.error}".`, {
        detail: err.error_description,
        action: restart,
      });
    }

    const tokens = await app.oauthClient.exchangeCode(validated, pending.codeVerifier);
    // A fresh session id on connect (session fixation); the tokens live only in the server-side store.
    await app.sessions.rotate(request, reply, {
      tokens: {
        accessToken: tokens.accessToken,
        tokenType: tokens.tokenType,
        scope: tokens.scope,
        expiresAt: tokens.expiresIn === null ? null : Math.floor(Date.now() / 1000) + tokens.expiresIn,
        ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
      },
    });
    request.log.info({ scope: tokens.scope }, 'connected: tokens stored in the server-side session');
    return reply.redirect('/photos', 303);
  });
}
