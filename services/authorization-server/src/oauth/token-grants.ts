// The three grants of the token endpoint, each taking the authenticated client and the form parameters and
// returning the RFC 6749 §5.1 response body:
//  - authorization_code (RFC 6749 §4.1.3; RFC 7636 §4.6; RFC 8707), with replay detection (§4.1.2): a code
//    presented again by its own client with the right verifier revokes the grant it was redeemed for;
//  - refresh_token (RFC 6749 §6; RFC 9700 §4.14): rotation on every use, reuse revokes the grant;
//  - client_credentials (RFC 6749 §4.4): the client acting for itself, sub = client_id (RFC 9068 §2.2);
//  - urn:ietf:params:oauth:grant-type:device_code (RFC 8628 §3.4-§3.5): a device polling until the person
//    approved or denied on the verification page, redeemed once.
// The stores report facts (a code claimed first or not, a refresh token already used); the conclusions (revoke
// the grant) are drawn here. Checks throw OAuthError with a fixed reason; what happened is told through
// app.events, where metrics and workshop tracing listen.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OAuthError } from '@quartet/common';
import {
  isPublicClient,
  type ClientRecord,
  type CodeData,
  type GrantRecord,
  type IssuedAccessToken,
  type RotationFact,
} from '../domain/records.js';
import type { RawParams } from '../lib/params.js';
import { verifierMatches } from '../lib/pkce.js';
import { readResource, requireAuthorizedResource } from './resources.js';
import {
  requireCodeKey,
  requireCodeParameters,
  requireConfidentialClient,
  requireLiveCode,
  requirePkceMatch,
  requireRefreshToken,
  requireSameClient,
  requireSameRedirectUri,
  requireScopeWithin,
} from './token-checks.js';
import {
  DEVICE_CODE_GRANT,
  pollPace,
  requireApproval,
  requireDeviceCodeParameter,
  requireFirstRedemption,
  requireKnownDeviceCode,
  requireSameDeviceClient,
  requireSlowerPolling,
  requireUnexpiredDeviceCode,
} from './device-checks.js';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

type GrantHandler = (
  app: FastifyInstance,
  request: FastifyRequest,
  client: ClientRecord,
  params: RawParams,
  jkt: string | undefined,
) => Promise<TokenResponse>;

function tokenResponse(token: IssuedAccessToken, refreshToken?: string): TokenResponse {
  return {
    access_token: token.token,
    // RFC 9449 §5: a token bound to the proof's key (cnf.jkt) is a DPoP token, not a Bearer token.
    token_type: token.jkt ? 'DPoP' : 'Bearer',
    expires_in: token.expiresIn,
    scope: token.scope,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
  };
}

/**
 * RFC 9449 §5: a public client's refresh tokens are bound to the key of the proof the grant was obtained with,
 * since nothing else stops a stolen refresh token from working; a confidential client's are not (it
 * authenticates at every refresh), and only its new access tokens are bound.
 */
function refreshBinding(client: ClientRecord, jkt: string | undefined): { dpopJkt?: string } {
  return jkt && isPublicClient(client) ? { dpopJkt: jkt } : {};
}

/**
 * RFC 9449 §5: a bound refresh token works only with a proof of its key. Missing or another key is answered
 * invalid_grant (the refresh token is not valid for this request, RFC 6749 §5.2), as most servers do: the
 * proof itself was valid, so invalid_dpop_proof would mislead. Checked before rotation, so nothing is spent.
 */
function requireBoundKey(grant: GrantRecord, jkt: string | undefined): void {
  if (grant.dpopJkt && grant.dpopJkt !== jkt)
    throw new OAuthError('invalid_grant', 'The refresh token is bound to another DPoP key.', {
      reason: 'dpop-key-mismatch',
    });
}

async function authorizationCode(
  app: FastifyInstance,
  request: FastifyRequest,
  client: ClientRecord,
  params: RawParams,
  jkt: string | undefined,
): Promise<TokenResponse> {
  const { code, codeVerifier, redirectUri } = requireCodeParameters(params);
  const requestedResource = readResource(params, app.resources.known);
  // The code is spent from here on: whatever fails next, it cannot be tried again (RFC 6749 §4.1.2).
  const { data: found, first } = await app.codes.redeem(code);
  if (!found) await revokeIfReplayed(app, request, client, code, codeVerifier);
  if (!first) await recordReplay(app, request, client, code, codeVerifier, found!);
  const data = requireLiveCode(found);
  app.events.emit('code.claimed', { request, code, data });
  requireSameClient(data, client);
  requireSameRedirectUri(data, redirectUri);
  requirePkceMatch(data, codeVerifier);
  requireCodeKey(data, jkt);
  const audience = requireAuthorizedResource(requestedResource, data.resource ?? app.resources.defaultAudience);
  app.events.emit('code.verified', { request, client, data });

  const created = await app.grants.create({
    userId: data.userId,
    clientId: client.id,
    scopes: data.scopes,
    resource: audience,
    code,
    codeChallenge: data.codeChallenge,
    withRefreshToken: client.grantTypes.includes('refresh_token'),
    ...refreshBinding(client, jkt),
  });
  if (typeof created === 'string') throw partyGone(created);
  // A replay of this code was recorded while this redemption ran (recordReplay): it gets nothing.
  if (!created) throw replayed(request, client.id);
  const { grant, refreshToken } = created;
  const token = await app.accessTokens.issue({
    subject: data.userId,
    clientId: client.id,
    scopes: data.scopes,
    audience,
    grantId: grant.id,
    jkt,
  });
  app.events.emit('token.issued', {
    request,
    client,
    grantType: 'authorization_code',
    token,
    audience,
    refreshTokenIssued: refreshToken !== undefined,
  });
  app.events.emit('code.redeemed', { request, client, grant });
  request.log.info({ clientId: client.id, grantId: grant.id }, 'authorization code redeemed');
  return tokenResponse(token, refreshToken);
}

/**
 * The client or the user was deleted after the code was issued (an instance that still had the client cached
 * authenticated it): nothing is issued. A deleted client is no longer a client (RFC 6749 §5.2 invalid_client);
 * a deleted user's code is no longer a valid grant (invalid_grant).
 */
function partyGone(gone: 'client-gone' | 'user-gone'): OAuthError {
  return gone === 'client-gone'
    ? new OAuthError('invalid_client', 'The client is no longer registered.', { status: 401, reason: 'client-deleted' })
    : new OAuthError('invalid_grant', 'The user of this grant no longer exists.', { reason: 'user-deleted' });
}

function replayed(request: FastifyRequest, clientId: string, grantId?: string): OAuthError {
  request.log.warn({ clientId, grantId }, 'authorization code replayed: grant revoked');
  return new OAuthError(
    'invalid_grant',
    'The authorization code was already used; the tokens issued from it have been revoked.',
    { reason: 'code-replayed' },
  );
}

const invalidCode = () =>
  new OAuthError('invalid_grant', 'The authorization code is invalid, expired or already used.', {
    reason: 'code-invalid',
  });

/**
 * RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization server MUST deny the
 * request and SHOULD revoke (when possible) all tokens previously issued based on that authorization code."
 * Only a replay by the client the code was issued to, with the right PKCE verifier, revokes: otherwise
 * anyone who saw a spent code in a log could revoke someone else's tokens.
 * This is the replay of a code whose data is still held: the first redemption may not have recorded its
 * grant yet, so the grant is recorded as revoked, whichever of the two statements comes first.
 */
async function recordReplay(
  app: FastifyInstance,
  request: FastifyRequest,
  client: ClientRecord,
  code: string,
  codeVerifier: string,
  data: CodeData,
): Promise<never> {
  if (data.clientId === client.id && verifierMatches(codeVerifier, data.codeChallenge)) {
    await app.grants.recordReplay({
      userId: data.userId,
      clientId: client.id,
      scopes: data.scopes,
      resource: data.resource,
      code,
      codeChallenge: data.codeChallenge,
    });
    app.events.emit('code.replayed', { request, client });
    throw replayed(request, client.id);
  }
  throw invalidCode();
}

/** The replay of a code whose data has expired: only a recorded grant can tell (see recordReplay). */
async function revokeIfReplayed(
  app: FastifyInstance,
  request: FastifyRequest,
  client: ClientRecord,
  code: string,
  codeVerifier: string,
): Promise<never> {
  const grant = await app.grants.findByCode(code);
  if (grant && grant.clientId === client.id && verifierMatches(codeVerifier, grant.codeChallenge)) {
    await app.grants.revoke(grant.id, 'authorization code replayed');
    app.events.emit('grant.revoked', { request, clientId: client.id, grantId: grant.id, cause: 'code-replay' });
    app.events.emit('code.replayed', { request, client, grantId: grant.id });
    throw replayed(request, client.id, grant.id);
  }
  throw invalidCode();
}

type RefreshRefusal = Exclude<RotationFact, { ok: true }>['fact'];

/** Each refusal of a refresh token, with its reason (RFC 6749 §5.2 invalid_grant for all). */
const REFRESH_REFUSALS: Record<RefreshRefusal, { description: string; reason: string }> = {
  unknown: { description: 'The refresh token is invalid.', reason: 'refresh-token-unknown' },
  'other-client': {
    description: 'The refresh token was issued to another client.',
    reason: 'refresh-token-other-client',
  },
  revoked: { description: 'The refresh token has been revoked.', reason: 'refresh-token-revoked' },
  expired: { description: 'The refresh token has expired.', reason: 'refresh-token-expired' },
  used: {
    description: 'The refresh token was already used; the grant has been revoked (RFC 9700 §4.14).',
    reason: 'refresh-token-reused',
  },
};

/**
 * Whether this refresh rotates the token (REFRESH_TOKEN_ROTATION). RFC 9700 §4.14.2: a public client's refresh
 * token must be sender-constrained or rotated, so one not bound to a DPoP key always rotates; a confidential
 * client's, or a bound one, may stay the same (FAPI 2.0 §5.3.2.1 rules rotation out).
 */
function rotates(app: FastifyInstance, client: ClientRecord, grant: GrantRecord): boolean {
  return app.config.REFRESH_TOKEN_ROTATION || (isPublicClient(client) && !grant.dpopJkt);
}

async function refreshToken(
  app: FastifyInstance,
  request: FastifyRequest,
  client: ClientRecord,
  params: RawParams,
  jkt: string | undefined,
): Promise<TokenResponse> {
  const presented = requireRefreshToken(params);
  const requestedResource = readResource(params, app.resources.known);
  let scopes: string[] = [];
  let audience = '';
  const outcome = await app.refreshTokens.rotate(
    presented,
    client.id,
    (grant) => {
      scopes = requireScopeWithin(params, grant.scopes);
      audience = requireAuthorizedResource(requestedResource, grant.resource);
      requireBoundKey(grant, jkt);
    },
    (grant) => rotates(app, client, grant),
  );
  if (!outcome.ok) {
    if (outcome.fact === 'used') {
      // RFC 9700 §4.14.2: a spent token presented again (or twice at once) means two parties hold it, and the
      // server cannot tell which is the client: the whole grant ends.
      const { grant } = outcome;
      await app.grants.revoke(
        grant.id,
        outcome.concurrently ? 'refresh token used twice concurrently' : 'refresh token reused',
      );
      request.log.warn({ clientId: client.id, grantId: grant.id }, 'refresh token reused: grant revoked');
      app.events.emit('grant.revoked', { request, clientId: client.id, grantId: grant.id, cause: 'refresh-reuse' });
      app.events.emit('refresh.reused', { request, client, grant });
    }
    const refusal = REFRESH_REFUSALS[outcome.fact];
    throw new OAuthError('invalid_grant', refusal.description, { reason: refusal.reason });
  }
  app.events.emit(outcome.refreshToken ? 'refresh.rotated' : 'refresh.kept', { request, client, grant: outcome.grant });
  const token = await app.accessTokens.issue({
    subject: outcome.grant.userId,
    clientId: client.id,
    scopes,
    audience,
    grantId: outcome.grant.id,
    jkt,
  });
  app.events.emit('token.issued', {
    request,
    client,
    grantType: 'refresh_token',
    token,
    audience,
    refreshTokenIssued: false,
  });
  request.log.info(
    { clientId: client.id, grantId: outcome.grant.id },
    outcome.refreshToken ? 'refresh token rotated' : 'refresh token used (not rotated)',
  );
  return tokenResponse(token, outcome.refreshToken);
}

/**
 * RFC 6749 §4.4: no user involved. The scope defaults to everything the client is allowed (§3.3 lets the
 * server pick a default); no refresh token is issued (§4.4.3), since the client can always ask again.
 */
async function clientCredentials(
  app: FastifyInstance,
  request: FastifyRequest,
  client: ClientRecord,
  params: RawParams,
  jkt: string | undefined,
): Promise<TokenResponse> {
  requireConfidentialClient(client);
  // A self-registered client may delete itself (RFC 7592 §2.3) at any instance, and nothing else in this grant
  // would notice (it writes no row that refers to the client): read it past the cache, so that after a delete
  // it gets no more tokens anywhere. Operator clients keep the CLIENT_CACHE_TTL window (see the README).
  if (client.registration === 'dynamic' && (await app.clients.findFresh(client.id)) === null) {
    throw partyGone('client-gone');
  }
  const scopes = requireScopeWithin(params, client.allowedScopes);
  const audience = readResource(params, app.resources.known) ?? app.resources.defaultAudience;
  const token = await app.accessTokens.issue({ subject: client.id, clientId: client.id, scopes, audience, jkt });
  app.events.emit('token.issued', {
    request,
    client,
    grantType: 'client_credentials',
    token,
    audience,
    refreshTokenIssued: false,
  });
  request.log.info({ clientId: client.id }, 'client credentials token issued');
  return tokenResponse(token);
}

/**
 * RFC 8628 §3.4-§3.5: the device polls with its device code. The checks run in the order the answers mean
 * something to the device: a code it does not own tells it nothing about the code's state; expired_token
 * ends the polling; slow_down is answered (and the interval grown) before anything is said about the
 * decision, so polling faster never learns the answer sooner. Once approved, exactly one poll claims the
 * code and gets tokens (a grant recorded under the device code's hash, no PKCE challenge), with a refresh
 * token when the client may use refresh_token.
 */
async function deviceCode(
  app: FastifyInstance,
  request: FastifyRequest,
  client: ClientRecord,
  params: RawParams,
  jkt: string | undefined,
): Promise<TokenResponse> {
  const presented = requireDeviceCodeParameter(params);
  const authorization = requireKnownDeviceCode(await app.deviceCodes.find(presented));
  requireSameDeviceClient(authorization, client);
  const now = Date.now();
  requireUnexpiredDeviceCode(authorization, now);
  const pace = pollPace(await app.deviceCodes.lastPoll(presented), now, authorization.interval);
  await app.deviceCodes.recordPoll(presented, pace.poll);
  if (pace.tooFast) app.events.emit('device.polled-too-fast', { request, client, interval: pace.poll.interval });
  requireSlowerPolling(pace);
  const userId = requireApproval(await app.deviceCodes.decision(presented));
  requireFirstRedemption(await app.deviceCodes.redeem(presented));

  const created = await app.grants.create({
    userId,
    clientId: client.id,
    scopes: authorization.scopes,
    resource: authorization.resource,
    code: presented,
    codeChallenge: null,
    withRefreshToken: client.grantTypes.includes('refresh_token'),
    ...refreshBinding(client, jkt),
  });
  if (typeof created === 'string') throw partyGone(created);
  // The device code's grant row exists already: only a second redemption could have written it.
  requireFirstRedemption(created !== null);
  const { grant, refreshToken } = created!;
  const token = await app.accessTokens.issue({
    subject: userId,
    clientId: client.id,
    scopes: authorization.scopes,
    audience: authorization.resource,
    grantId: grant.id,
    jkt,
  });
  app.events.emit('token.issued', {
    request,
    client,
    grantType: DEVICE_CODE_GRANT,
    token,
    audience: authorization.resource,
    refreshTokenIssued: refreshToken !== undefined,
  });
  app.events.emit('device.redeemed', { request, client, grant });
  request.log.info({ clientId: client.id, grantId: grant.id }, 'device code redeemed');
  return tokenResponse(token, refreshToken);
}

export const GRANT_HANDLERS: Record<string, GrantHandler> = {
  authorization_code: authorizationCode,
  refresh_token: refreshToken,
  client_credentials: clientCredentials,
  [DEVICE_CODE_GRANT]: deviceCode,
};
