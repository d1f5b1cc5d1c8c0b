// The client's side of the authorization-code flow (RFC 6749 §4.1) with PKCE (RFC 7636) and issuer
// identification (RFC 9207):
//   GET /connect   — new state + code_verifier bound to this browser's session, 303 to the AS /authorize;
//   GET /callback  — checks state (one-time, same browser: RFC 6749 §10.12) and iss BEFORE any token request,
//                    then exchanges the code and keeps the tokens in the server-side session only.
// In workshop mode /connect starts a flow in the inspector (a new trace id, kept with the pending request and
// then with the tokens) and both routes record what they did and checked.
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import * as oauth from 'oauth4webapi';
import { perAddressRateLimit, tooManyRequests } from '@quartet/common';
import { CallbackError, UpstreamUnavailableError } from '../oauth/errors.js';
import { isDpop } from '../oauth/dpop.js';
import { flowContext } from '../oauth/events.js';
import { authorizationRequestSections, callbackSections, type CallbackCheck } from '../workshop/inspector/present.js';

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

export default async function oauthRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  // Each /connect makes us keep a flow (state + verifier) for 10 minutes: a loose per-address limit
  // (RATE_LIMIT_CONNECT a minute) keeps one address from filling the store for everyone.
  const config = perAddressRateLimit(app.config.RATE_LIMIT_CONNECT, (seconds) =>
    tooManyRequests(seconds, `This network started too many sign-ins. Try again in ${seconds} seconds.`),
  );

  // A plain link (GET) is enough here: starting a flow changes nothing the user cares about, and the state
  // and verifier are bound to the session of the browser that started it, so a forged start gains nothing.
  app.get('/connect', { config }, async (request, reply) => {
    // Metadata first: if the AS is down the user gets a 503 before we create anything.
    const prepared = await app.oauthClient.prepareAuthorization();
    const session = await app.sessions.loadOrCreate(request, reply);
    const recorder = app.inspector.startFlow(request, reply, 'Connect my photos');
    const pushed = app.config.USE_PAR;
    if (recorder) {
      recorder.record({ role: 'resource owner', to: 'client', title: 'Clicks "Connect my photos"', outcome: 'info' });
      const requestUrl = new URL(prepared.endpoint);
      for (const [name, value] of prepared.params) requestUrl.searchParams.set(name, value);
      recorder.record({
        role: 'client',
        title: 'Authorization request prepared (state + PKCE)',
        detail: `A fresh state and PKCE code_verifier${prepared.dpopKey ? ' and a DPoP key pair (its thumbprint is dpop_jkt)' : ''}, kept in this browser's server-side session; only the challenge goes out${pushed ? ', pushed to the authorization server (RFC 9126): the browser carries only a request_uri' : ''}.`,
        outcome: 'info',
        sections: authorizationRequestSections(requestUrl, prepared.codeVerifier),
      });
    }
    const start = await app.oauthClient.authorizationUrl(
      prepared,
      recorder ? flowContext(request, recorder.traceId) : undefined,
    );
    if (recorder) {
      recorder.record({
        role: 'client',
        to: 'resource owner',
        title: '303 redirect to the authorization endpoint',
        ...(pushed ? { detail: `Only client_id and request_uri: ${start.href}` } : {}),
        outcome: 'info',
      });
      recorder.record({
        role: 'resource owner',
        to: 'authorization server',
        title: 'GET /authorize (the browser follows)',
        detail: 'The user logs in and approves (or declines) at the authorization server; the client sees none of it.',
        outcome: 'info',
      });
    }
    await app.pendingAuthorizations.save(session, {
      state: prepared.state,
      codeVerifier: prepared.codeVerifier,
      createdAt: Date.now(),
      ...(prepared.dpopKey ? { dpopKey: prepared.dpopKey } : {}),
      ...(recorder ? { traceId: recorder.traceId } : {}),
    });
    return reply.header('cache-control', 'no-store').redirect(start.href, 303);
  });

  app.get('/callback', { schema: { querystring: CallbackQuery } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const parameters = new URLSearchParams(request.url.split('?')[1] ?? '');
    const state = parameters.get('state');
    // RFC 6749 §10.12: without our state we cannot know this response answers a request this browser made.
    if (!state) throw new CallbackError('missing-state');
    const session = await app.sessions.load(request);
    if (!session) throw new CallbackError('no-session');
    // Atomic take: the state and verifier are used once, whatever happens next (success, error, or a bad iss).
    const pending = await app.pendingAuthorizations.take(session, state);
    if (!pending) throw new CallbackError('unknown-state');

    const recorder = app.inspector.recorder(request, pending.traceId);
    recorder?.record({
      role: 'resource owner',
      to: 'client',
      title: 'GET /callback (sent back by the authorization server)',
      outcome: 'info',
    });
    const stateCheck: CallbackCheck = {
      name: 'state',
      ok: true,
      detail: "matches the request this browser's session started, and is now used up",
    };
    const issuer = app.oauthClient.issuerIdentifier;

    let validated: URLSearchParams;
    try {
      // Checks state again (constant string compare) and `iss` against the discovered issuer (RFC 9207 §2.4).
      validated = await app.oauthClient.validateCallback(parameters, pending.state);
    } catch (err) {
      if (recorder) {
        const genuineError = err instanceof oauth.AuthorizationResponseError;
        const checks: CallbackCheck[] = [
          stateCheck,
          genuineError
            ? { name: 'iss', ok: true, detail: `equals ${issuer}` }
            : {
                name: 'iss',
                ok: false,
                detail: `expected ${issuer}, got ${parameters.get('iss') ?? '(none)'}: rejected before any token request (RFC 9207)`,
              },
        ];
        recorder.record({
          role: 'client',
          title: genuineError
            ? `Authorization response: error=${(err as oauth.AuthorizationResponseError).error}`
            : 'Authorization response rejected (iss check)',
          outcome: 'rejected',
          sections: callbackSections(parameters, checks),
        });
      }
      if (!(err instanceof oauth.AuthorizationResponseError)) throw err;
      // A genuine error response from our AS for our request (RFC 6749 §4.1.2.1).
      if (err.error === 'access_denied') {
        return reply.showMessage({
          status: 200,
          heading: 'No problem — nothing was shared',
          explanation:
            'You declined to give this app access to your photos. It has no access to anything of yours. You can connect at any time.',
          action: { href: '/', label: 'Back to the start' },
        });
      }
      if (err.error === 'temporarily_unavailable') throw new UpstreamUnavailableError('authorization server', err);
      throw new CallbackError('authorization-refused', { error: err.error, detail: err.error_description, cause: err });
    }

    recorder?.record({
      role: 'client',
      title: 'Authorization response checked',
      detail: 'state and iss are checked before the code is ever sent anywhere.',
      outcome: 'ok',
      sections: callbackSections(parameters, [
        stateCheck,
        { name: 'iss', ok: true, detail: `equals ${issuer} (RFC 9207)` },
      ]),
    });
    const tokens = await app.oauthClient.exchangeCode(
      validated,
      pending.codeVerifier,
      recorder ? flowContext(request, recorder.traceId) : undefined,
      pending.dpopKey,
    );
    // A fresh session id on connect (session fixation); the tokens live only in the server-side store.
    await app.sessions.rotate(request, reply, {
      tokens: {
        accessToken: tokens.accessToken,
        tokenType: tokens.tokenType,
        scope: tokens.scope,
        expiresAt: tokens.expiresIn === null ? null : Math.floor(Date.now() / 1000) + tokens.expiresIn,
        ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
        // The key stays with the tokens bound to it (server-side); an AS that answered Bearer bound nothing.
        ...(pending.dpopKey && isDpop(tokens.tokenType) ? { dpopKey: pending.dpopKey } : {}),
        ...(recorder ? { traceId: recorder.traceId } : {}),
      },
    });
    request.log.info({ scope: tokens.scope }, 'connected: tokens stored in the server-side session');
    return reply.redirect('/photos', 303);
  });
}
