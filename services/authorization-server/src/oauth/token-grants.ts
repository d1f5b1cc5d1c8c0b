// The three grants of the token endpoint, each taking the authenticated client and the form parameters and
// returning the RFC 6749 §5.1 response body:
//  - authorization_code (RFC 6749 §4.1.3; RFC 7636 §4.6; RFC 8707), with replay detection (§4.1.2): a code
//    presented again by its own client with the right verifier revokes the grant it was redeemed for;
//  - refresh_token (RFC 6749 §6; RFC 9700 §4.14): rotation on every use, reuse revokes the grant;
//  - client_credentials (RFC 6749 §4.4): the client acting for itself, sub = client_id (RFC 9068 §2.2).
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { OAuthError, type RequestTrace } from '@quartet/common';
import { decodeProtectedHeader } from 'jose';
import type { ClientRecord } from '../plugins/repositories.js';
import type { CodeData } from '../plugins/code-store.js';
import type { RefreshFailure } from '../plugins/grants.js';
import type { CodeRejection } from '../plugins/oauth-metrics.js';
import type { RawParams } from '../lib/params.js';
import { verifierMatches } from '../lib/pkce.js';
import * as steps from '../lib/workshop-steps.js';
import { readResource, requireAuthorizedResource } from './resources.js';
import {
  requireCodeParameters,
  requireConfidentialClient,
  requireLiveCode,
  requirePkceMatch,
  requireRefreshToken,
  requireSameClient,
  requireSameRedirectUri,
  requireScopeWithin,
} from './token-checks.js';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

type GrantHandler = (
  app: FastifyInstance,
  client: ClientRecord,
  params: RawParams,
  log: FastifyBaseLogger,
  trace: RequestTrace,
) => Promise<TokenResponse>;

/** Runs one check of a code redemption; an OAuth error it throws is counted under `reason` (metrics). */
function counted<T>(app: FastifyInstance, reason: CodeRejection, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof OAuthError) app.oauthMetrics.codesRejected.inc({ reason });
    throw err;
  }
}

/** Workshop mode: the access-token step, with the kid and alg read back from the token actually issued. */
function recordAccessToken(
  trace: RequestTrace,
  token: { token: string; expiresIn: number; scope: string },
  audience: string,
): void {
  if (!trace.traceId) return;
  const { kid, alg } = decodeProtectedHeader(token.token);
  trace.record(steps.accessTokenSigned(kid, alg, token.expiresIn, audience, token.scope));
}

async function authorizationCode(
  app: FastifyInstance,
  client: ClientRecord,
  params: RawParams,
  log: FastifyBaseLogger,
  trace: RequestTrace,
): Promise<TokenResponse> {
  const { code, codeVerifier, redirectUri } = counted(app, 'malformed', () => requireCodeParameters(params));
  const requestedResource = counted(app, 'resource', () => readResource(params, app.resources.known));
  // The code is spent from here on: whatever fails next, it cannot be tried again (RFC 6749 §4.1.2).
  const { data: found, first } = await app.codes.redeem(code);
  if (!found) await revokeIfReplayed(app, client, code, codeVerifier, log, trace);
  if (!first) await recordReplay(app, client, code, codeVerifier, found!, log, trace);
  const data = requireLiveCode(found);
  // Workshop mode: the browser leg (validated request, login, consent, code issued) joins this trace.
  if (data.workshopSteps) trace.recordAll(data.workshopSteps);
  trace.record(steps.codeConsumed());
  counted(app, 'client', () => requireSameClient(data, client));
  trace.record(steps.sameClient(client.id));
  counted(app, 'redirect_uri', () => requireSameRedirectUri(data, redirectUri));
  trace.record(steps.redirectUriMatches(data));
  if (trace.traceId && !verifierMatches(codeVerifier, data.codeChallenge)) trace.record(steps.pkceFailed());
  counted(app, 'pkce', () => requirePkceMatch(data, codeVerifier));
  trace.record(steps.pkceVerified());
  const audience = counted(app, 'resource', () =>
    requireAuthorizedResource(requestedResource, data.resource ?? app.resources.defaultAudience),
  );

  const created = await app.grants.create({
    userId: data.userId,
    clientId: client.id,
    scopes: data.scopes,
    resource: audience,
    code,
    codeChallenge: data.codeChallenge,
    withRefreshToken: client.grantTypes.includes('refresh_token'),
  });
  // A replay of this code was recorded while this redemption ran (recordReplay): it gets nothing.
  if (!created) throw replayed(app, log, client.id);
  const { grant, refreshToken } = created;
  const token = await app.accessTokens.issue({
    subject: data.userId,
    clientId: client.id,
    scopes: data.scopes,
    audience,
    grantId: grant.id,
  });
  recordAccessToken(trace, token, audience);
  if (refreshToken) trace.record(steps.refreshTokenIssued());
  app.oauthMetrics.codesRedeemed.inc();
  log.info({ clientId: client.id, grantId: grant.id }, 'authorization code redeemed');
  return {
    access_token: token.token,
    token_type: 'Bearer',
    expires_in: token.expiresIn,
    scope: token.scope,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
  };
}

function replayed(app: FastifyInstance, log: FastifyBaseLogger, clientId: string, grantId?: string): OAuthError {
  log.warn({ clientId, grantId }, 'authorization code replayed: grant revoked');
  app.oauthMetrics.codesRejected.inc({ reason: 'replay' });
  return new OAuthError(
    'invalid_grant',
    'The authorization code was already used; the tokens issued from it have been revoked.',
  );
}

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
  client: ClientRecord,
  code: string,
  codeVerifier: string,
  data: CodeData,
  log: FastifyBaseLogger,
  trace: RequestTrace,
): Promise<never> {
  trace.record(steps.codeNotFound());
  if (data.clientId === client.id && verifierMatches(codeVerifier, data.codeChallenge)) {
    await app.grants.recordReplay({
      userId: data.userId,
      clientId: client.id,
      scopes: data.scopes,
      resource: data.resource,
      code,
      codeChallenge: data.codeChallenge,
    });
    trace.record(steps.codeReplayed());
    throw replayed(app, log, client.id);
  }
  app.oauthMetrics.codesRejected.inc({ reason: 'invalid' });
  throw new OAuthError('invalid_grant', 'The authorization code is invalid, expired or already used.');
}

/** The replay of a code whose data has expired: only a recorded grant can tell (see recordReplay). */
async function revokeIfReplayed(
  app: FastifyInstance,
  client: ClientRecord,
  code: string,
  codeVerifier: string,
  log: FastifyBaseLogger,
  trace: RequestTrace,
): Promise<never> {
  const grant = await app.grants.findByCode(code);
  trace.record(steps.codeNotFound());
  if (grant && grant.clientId === client.id && verifierMatches(codeVerifier, grant.codeChallenge)) {
    await app.grants.revoke(grant.id, 'authorization code replayed');
    trace.record(steps.codeReplayed(grant.id));
    throw replayed(app, log, client.id, grant.id);
  }
  app.oauthMetrics.codesRejected.inc({ reason: 'invalid' });
  throw new OAuthError('invalid_grant', 'The authorization code is invalid, expired or already used.');
}

const REFRESH_FAILURES: Record<RefreshFailure, string> = {
  unknown: 'The refresh token is invalid.',
  'other-client': 'The refresh token was issued to another client.',
  revoked: 'The refresh token has been revoked.',
  expired: 'The refresh token has expired.',
  reused: 'The refresh token was already used; the grant has been revoked (RFC 9700 §4.14).',
};

async function refreshToken(
  app: FastifyInstance,
  client: ClientRecord,
  params: RawParams,
  log: FastifyBaseLogger,
  trace: RequestTrace,
): Promise<TokenResponse> {
  const presented = requireRefreshToken(params);
  const requestedResource = readResource(params, app.resources.known);
  let scopes: string[] = [];
  let audience = '';
  const outcome = await app.grants.rotate(presented, client.id, (grant) => {
    scopes = requireScopeWithin(params, grant.scopes);
    audience = requireAuthorizedResource(requestedResource, grant.resource);
  });
  if (!outcome.ok) {
    if (outcome.reason === 'reused') {
      trace.record(steps.refreshReuse(outcome.grant?.id));
      log.warn({ clientId: client.id, grantId: outcome.grant?.id }, 'refresh token reused: grant revoked');
      app.oauthMetrics.refreshTokenReuse.inc();
    }
    throw new OAuthError('invalid_grant', REFRESH_FAILURES[outcome.reason]);
  }
  trace.record(steps.refreshTokenRotated(outcome.grant.id));
  const token = await app.accessTokens.issue({
    subject: outcome.grant.userId,
    clientId: client.id,
    scopes,
    audience,
    grantId: outcome.grant.id,
  });
  recordAccessToken(trace, token, audience);
  log.info({ clientId: client.id, grantId: outcome.grant.id }, 'refresh token rotated');
  return {
    access_token: token.token,
    token_type: 'Bearer',
    expires_in: token.expiresIn,
    scope: token.scope,
    refresh_token: outcome.refreshToken,
  };
}

/**
 * RFC 6749 §4.4: no user involved. The scope defaults to everything the client is allowed (§3.3 lets the
 * server pick a default); no refresh token is issued (§4.4.3), since the client can always ask again.
 */
async function clientCredentials(
  app: FastifyInstance,
  client: ClientRecord,
  params: RawParams,
  log: FastifyBaseLogger,
  trace: RequestTrace,
): Promise<TokenResponse> {
  requireConfidentialClient(client);
  const scopes = requireScopeWithin(params, client.allowedScopes);
  const audience = readResource(params, app.resources.known) ?? app.resources.defaultAudience;
  trace.record(steps.clientCredentialsIssued(client.id));
  const token = await app.accessTokens.issue({ subject: client.id, clientId: client.id, scopes, audience });
  recordAccessToken(trace, token, audience);
  log.info({ clientId: client.id }, 'client credentials token issued');
  return { access_token: token.token, token_type: 'Bearer', expires_in: token.expiresIn, scope: token.scope };
}

export const GRANT_HANDLERS: Record<string, GrantHandler> = {
  authorization_code: authorizationCode,
  refresh_token: refreshToken,
  client_credentials: clientCredentials,
};
