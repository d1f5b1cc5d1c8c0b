// Interaction route: the login page. It authenticates the resource owner (RFC 6749 §3.1: "the
// authorization server must first verify the identity of the resource owner") and starts a login session;
// it never issues tokens. Failures say only that the username or password was wrong.
// Without a pending authorization request it is the way into the user's own "connected apps" page: after
// login it goes there and nowhere else (a fixed target, so it cannot be turned into an open redirect).
// With `device` (the user code typed so far, maybe empty) it is the way into the device verification page,
// and goes back there (a fixed path again; the code is only carried along, never looked up here).
// Guessing is throttled (plugins/throttle.ts) per account and per client address: a blocked attempt is
// answered 429 + Retry-After before any password is hashed, and the page says when to try again.
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { expiredRequest, renderErrorPage } from '../plugins/pages.js';
import { CONNECTED_APPS_PATH, LOGIN_PATH } from '../plugins/authorization-flow.js';
import type { AuthorizationRequest } from '../domain/records.js';
import { addressKey } from '@quartet/common';
import { accountKey } from '../plugins/throttle.js';
import { waitText } from '../lib/wait-text.js';
import { DEVICE_PATH } from '../plugins/device-codes.js';

/** The device verification page with the code typed so far. */
const devicePage = (userCode: string) => `${DEVICE_PATH}?user_code=${encodeURIComponent(userCode)}`;

const Query = Type.Object({
  request: Type.Optional(Type.String({ maxLength: 100 })),
  device: Type.Optional(Type.String({ maxLength: 20 })),
});
const Body = Type.Object({
  request: Type.Optional(Type.String({ maxLength: 100 })),
  device: Type.Optional(Type.String({ maxLength: 20 })),
  username: Type.String({ maxLength: 200 }),
  password: Type.String({ maxLength: 1000 }),
  // Optional in the schema so that a missing token is answered 403 by the CSRF check, not 400.
  _csrf: Type.Optional(Type.String()),
});

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.setErrorHandler((err, request, reply) => renderErrorPage(request, reply, err));

  const accountLoginPage = (reply: FastifyReply, extra: Record<string, string> = {}) =>
    reply.view('login.njk', {
      csrfToken: reply.generateCsrf(),
      requestId: '',
      purpose: extra.device === undefined ? 'manage the apps you have connected' : 'connect a device',
      ...extra,
    });

  app.get(LOGIN_PATH, { schema: { querystring: Query } }, async (request, reply) => {
    const { device } = request.query;
    if (!request.query.request) {
      if (await app.loginSessions.load(request))
        return reply.redirect(device === undefined ? CONNECTED_APPS_PATH : devicePage(device), 303);
      return accountLoginPage(reply, device === undefined ? {} : { device });
    }
    const authRequest = await app.authorizationRequests.get(request.query.request);
    if (!authRequest) throw expiredRequest();
    const session = await app.loginSessions.load(request);
    if (session) {
      app.events.emit('login.session-found', { requestId: request.query.request, username: session.data.username });
      return reply.redirect(await app.authorizationFlow.next(request.query.request, authRequest, session.data), 303);
    }
    const client = await app.clients.findById(authRequest.clientId);
    return reply.view('login.njk', {
      csrfToken: reply.generateCsrf(),
      requestId: request.query.request,
      clientName: client?.name ?? authRequest.clientId,
    });
  });

  /** The login page again, for a pending request or for the connected apps page, with an error. */
  async function loginAgain(
    reply: FastifyReply,
    requestId: string | undefined,
    authRequest: AuthorizationRequest | null,
    username: string,
    error: string,
    device?: string,
  ) {
    if (!requestId || !authRequest)
      return accountLoginPage(reply, { username, error, ...(device === undefined ? {} : { device }) });
    const client = await app.clients.findById(authRequest.clientId);
    return reply.view('login.njk', {
      csrfToken: reply.generateCsrf(),
      requestId,
      clientName: client?.name ?? authRequest.clientId,
      username,
      error,
    });
  }

  app.post(LOGIN_PATH, { schema: { body: Body }, preHandler: app.csrfProtection }, async (request, reply) => {
    const { request: requestId, username, password, device } = request.body;
    const authRequest = requestId ? await app.authorizationRequests.get(requestId) : null;
    if (requestId && !authRequest) throw expiredRequest();
    const { loginAccount, loginAddress } = app.throttles;
    const account = accountKey(username);
    const address = addressKey(request.ip);
    // Checked before the password is hashed: a blocked key costs no scrypt, and a right password is refused
    // too while it lasts (otherwise the answer would tell a guesser when a guess was right).
    const wait = Math.max(...(await Promise.all([loginAccount.blockedFor(account), loginAddress.blockedFor(address)])));
    if (wait > 0) {
      request.log.info({ retryAfter: wait }, 'login throttled');
      reply.code(429).header('retry-after', String(wait));
      return loginAgain(
        reply,
        requestId,
        authRequest,
        username,
        `Too many failed sign-in attempts. Try again in ${waitText(wait)}.`,
        device,
      );
    }
    const user = await app.users.authenticate(username, password);
    if (!user) {
      const blocked = Math.max(...(await Promise.all([loginAccount.fail(account), loginAddress.fail(address)])));
      request.log.info(blocked ? { blockedFor: blocked } : {}, 'login failed');
      app.events.emit('login.failed', requestId && authRequest ? { requestId } : {});
      const error = `The username or password is incorrect.${blocked ? ` Too many failed attempts: try again in ${waitText(blocked)}.` : ''}`;
      return loginAgain(reply.code(401), requestId, authRequest, username, error, device);
    }
    await loginAccount.reset(account);
    // A fresh session id at every login: an id planted before login is never promoted (session fixation).
    await app.loginSessions.destroy(request, reply);
    const session = await app.loginSessions.create(reply, {
      userId: user.id,
      username: user.username,
      authTime: Math.floor(Date.now() / 1000),
    });
    request.log.info({ userId: user.id }, 'login succeeded');
    // RFC 9700 §4.12: 303 so the browser does not re-send the credentials to the next URL.
    if (!requestId || !authRequest)
      return reply.redirect(device === undefined ? CONNECTED_APPS_PATH : devicePage(device), 303);
    app.events.emit('login.succeeded', { requestId, username: user.username });
    return reply.redirect(await app.authorizationFlow.next(requestId, authRequest, session.data), 303);
  });
};

export default routes;
