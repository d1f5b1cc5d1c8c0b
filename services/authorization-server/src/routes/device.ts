// Interaction route: the device verification page (RFC 8628 §3.3). The person signs in, types the user code
// their device shows (verification_uri_complete only fills it in: nothing is approved without them
// confirming, §3.3.1 and §5.4), sees which client on the device asks for which scopes, with the warning to
// enter only a code from a device in front of them (§5.4: a code sent by someone else is a phishing attempt),
// and allows or denies. It never issues tokens: the device's own polls at the token endpoint do.
// User codes are short enough to guess by trying (§5.1), so every wrong one counts against the client
// address (THROTTLE_USER_CODE within THROTTLE_WINDOW); while an address is blocked no code is looked up, a
// right one neither (the answer would tell a guesser when a guess was right). Malformed codes are told apart
// without a look-up and are not counted.
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { addressKey } from '@quartet/common';
import { renderErrorPage } from '../plugins/pages.js';
import { LOGIN_PATH, LOGOUT_PATH } from '../plugins/authorization-flow.js';
import { DEVICE_PATH } from '../plugins/device-codes.js';
import type { LoginSession } from '../plugins/login-sessions.js';
import { isPublicClient, type DeviceAuthorization } from '../domain/records.js';
import { describeScope } from '../lib/scopes.js';
import { displayUserCode, normaliseUserCode } from '../lib/device-grant.js';
import { waitText } from '../lib/wait-text.js';

export const DEVICE_DECISION_PATH = `${DEVICE_PATH}/decision`;

const Query = Type.Object({ user_code: Type.Optional(Type.String({ maxLength: 20 })) });
const EntryBody = Type.Object({
  user_code: Type.String({ maxLength: 20 }),
  // Optional in the schema so that a missing token is answered 403 by the CSRF check, not 400.
  _csrf: Type.Optional(Type.String()),
});
const DecisionBody = Type.Object({
  user_code: Type.String({ maxLength: 20 }),
  decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]),
  _csrf: Type.Optional(Type.String()),
});

/** The login page, coming back here with the code typed so far (a fixed path: no open redirect). */
export const deviceLoginUrl = (userCode: string | undefined) =>
  `${LOGIN_PATH}?device=${encodeURIComponent(userCode ?? '')}`;

const MALFORMED = 'That is not a code from this service: it has 8 letters, like BCDF-GHJK.';
const NOT_FOUND = 'This code is unknown, has expired or was already used. Check the code on your device.';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.setErrorHandler((err, request, reply) => renderErrorPage(request, reply, err));
  const throttle = app.throttles.userCode;

  const entryPage = (reply: FastifyReply, session: LoginSession, userCode: string, error?: string) =>
    reply.view('device.njk', {
      csrfToken: reply.generateCsrf(),
      username: session.username,
      userCode,
      logoutPath: LOGOUT_PATH,
      ...(error ? { error } : {}),
    });

  /**
   * The pending device authorization a typed code stands for, or the entry page again with why not (400, or
   * 429 + Retry-After while the address is blocked).
   */
  async function lookUp(
    request: FastifyRequest,
    reply: FastifyReply,
    session: LoginSession,
    typed: string,
  ): Promise<{ userCode: string; authorization: DeviceAuthorization } | { page: FastifyReply }> {
    const address = addressKey(request.ip);
    const wait = await throttle.blockedFor(address);
    if (wait > 0) {
      request.log.info({ retryAfter: wait }, 'user code entry throttled');
      reply.code(429).header('retry-after', String(wait));
      return { page: await entryPage(reply, session, typed, `Too many wrong codes. Try again in ${waitText(wait)}.`) };
    }
    const userCode = normaliseUserCode(typed);
    if (!userCode) return { page: await entryPage(reply.code(400), session, typed, MALFORMED) };
    const authorization = await app.deviceCodes.findByUserCode(userCode);
    if (!authorization) return { page: await wrongCode(request, reply, session, typed) };
    return { userCode, authorization };
  }

  async function wrongCode(request: FastifyRequest, reply: FastifyReply, session: LoginSession, typed: string) {
    const blocked = await throttle.fail(addressKey(request.ip));
    request.log.info(blocked ? { blockedFor: blocked } : {}, 'user code rejected');
    app.events.emit('device.user-code-rejected', {});
    const error = `${NOT_FOUND}${blocked ? ` Too many wrong codes: try again in ${waitText(blocked)}.` : ''}`;
    return entryPage(reply.code(400), session, typed, error);
  }

  app.get(DEVICE_PATH, { schema: { querystring: Query } }, async (request, reply) => {
    const typed = request.query.user_code ?? '';
    const session = await app.loginSessions.load(request);
    if (!session) return reply.redirect(deviceLoginUrl(typed), 303);
    // Only prefilled: the code is looked up when the person confirms it (POST), never on a GET.
    const normalised = normaliseUserCode(typed);
    return entryPage(reply, session.data, normalised ? displayUserCode(normalised) : typed);
  });

  app.post(DEVICE_PATH, { schema: { body: EntryBody }, preHandler: app.csrfProtection }, async (request, reply) => {
    const session = await app.loginSessions.load(request);
    if (!session) return reply.redirect(deviceLoginUrl(request.body.user_code), 303);
    const found = await lookUp(request, reply, session.data, request.body.user_code);
    if ('page' in found) return found.page;
    const { userCode, authorization } = found;
    const client = await app.clients.findById(authorization.clientId);
    return reply.view('device-consent.njk', {
      csrfToken: reply.generateCsrf(),
      username: session.data.username,
      userCode: displayUserCode(userCode),
      clientName: client?.name ?? authorization.clientId,
      scopes: authorization.scopes.map((scope) => ({ scope, description: describeScope(scope) })),
      resource: authorization.resource,
      publicClient: client ? isPublicClient(client) : false,
      // As on the authorization code consent page: a client the operator did not register names itself.
      notVerified: client?.registration !== 'operator',
      documentHost: client?.registration === 'metadata_document' ? new URL(client.id).host : undefined,
    });
  });

  app.post(
    DEVICE_DECISION_PATH,
    { schema: { body: DecisionBody }, preHandler: app.csrfProtection },
    async (request, reply) => {
      const { user_code: typed, decision } = request.body;
      const session = await app.loginSessions.load(request);
      if (!session) return reply.redirect(deviceLoginUrl(typed), 303);
      const found = await lookUp(request, reply, session.data, typed);
      if ('page' in found) return found.page;
      const { userCode, authorization } = found;
      const { userId } = session.data;
      if (decision === 'approve') {
        // Recorded first, so the approval is listed on the connected apps page, where it can be withdrawn
        // (which revokes the device's grant). A stored consent never approves a device without asking.
        await app.consents.grant(userId, authorization.clientId, authorization.resource, authorization.scopes);
      }
      const outcome = await app.deviceCodes.decide(
        userCode,
        decision === 'approve' ? { status: 'approved', userId } : { status: 'denied' },
      );
      // Decided meanwhile (another tab) or expired since the page was shown.
      if (!outcome.decided) return wrongCode(request, reply, session.data, typed);
      const client = await app.clients.findById(authorization.clientId);
      const clientName = client?.name ?? authorization.clientId;
      if (decision === 'deny') {
        app.events.emit('device.denied', { clientId: authorization.clientId, userId });
        request.log.info({ clientId: authorization.clientId }, 'device denied');
        return reply.view('device-done.njk', {
          heading: 'Device denied',
          detail: `${clientName} on that device gets no access. You can close this page.`,
        });
      }
      app.events.emit('device.approved', { clientId: authorization.clientId, userId, scopes: authorization.scopes });
      request.log.info({ clientId: authorization.clientId }, 'device approved');
      return reply.view('device-done.njk', {
        heading: 'Device connected',
        detail: `${clientName} on your device can now continue. You can close this page and return to the device.`,
      });
    },
  );
};

export default routes;
