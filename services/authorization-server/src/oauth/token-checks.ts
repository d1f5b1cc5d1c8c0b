// Checks of token requests (RFC 6749 §3.2, §3.3, §4.1.3, §4.4.2, §5.2, §6; RFC 7636 §4.5-§4.6), each
// throwing one specific error.
import { OAuthError, echoInput } from '@quartet/common';
import { isPublicClient, type ClientRecord, type CodeData } from '../domain/records.js';
import { CODE_VERIFIER_PATTERN, verifierMatches } from '../lib/pkce.js';
import { single, type RawParams } from '../lib/params.js';
import { parseScope } from '../lib/scopes.js';
import { DEVICE_CODE_GRANT } from '../lib/device-grant.js';

export const SUPPORTED_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE_GRANT];

/** RFC 6749 §3.2 and §4.1.3: the body is application/x-www-form-urlencoded; anything else is refused. */
export function requireFormBody(contentType: string | undefined, body: unknown): RawParams {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/x-www-form-urlencoded' || typeof body !== 'object' || body === null) {
    throw new OAuthError('invalid_request', 'The token request must be sent as application/x-www-form-urlencoded.', {
      reason: 'form-body-required',
    });
  }
  return body as RawParams;
}

/** RFC 6749 §4.1.3: grant_type is required. */
export function requireGrantType(params: RawParams): string {
  const grantType = single(params, 'grant_type');
  if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required.', { reason: 'grant-type-missing' });
  return grantType;
}

/** RFC 6749 §5.2 unsupported_grant_type / unauthorized_client. */
export function requireSupportedGrant(grantType: string, client: ClientRecord): void {
  if (!SUPPORTED_GRANT_TYPES.includes(grantType)) {
    throw new OAuthError('unsupported_grant_type', `grant_type ${echoInput(grantType)} is not supported.`, {
      reason: 'grant-type-unsupported',
    });
  }
  if (!client.grantTypes.includes(grantType)) {
    throw new OAuthError('unauthorized_client', `This client may not use grant_type ${echoInput(grantType)}.`, {
      reason: 'grant-type-not-allowed',
    });
  }
}

/** RFC 6749 §4.1.3 code, RFC 7636 §4.5 code_verifier (43-128 unreserved characters): checked before the code is spent. */
export function requireCodeParameters(params: RawParams): { code: string; codeVerifier: string; redirectUri?: string } {
  const code = single(params, 'code');
  const codeVerifier = single(params, 'code_verifier');
  if (!code) throw new OAuthError('invalid_request', 'code is required.', { reason: 'code-missing' });
  if (!codeVerifier)
    throw new OAuthError('invalid_request', 'code_verifier is required (PKCE).', { reason: 'code-verifier-missing' });
  if (!CODE_VERIFIER_PATTERN.test(codeVerifier)) {
    throw new OAuthError('invalid_request', 'code_verifier must be 43-128 characters of [A-Za-z0-9-._~].', {
      reason: 'code-verifier-malformed',
    });
  }
  return { code, codeVerifier, redirectUri: single(params, 'redirect_uri') };
}

/** RFC 6749 §4.1.3 and §10.5: the code must exist, be unused and unexpired (consume returned it). */
export function requireLiveCode(data: CodeData | null): CodeData {
  if (!data)
    throw new OAuthError('invalid_grant', 'The authorization code is invalid, expired or already used.', {
      reason: 'code-invalid',
    });
  return data;
}

/** RFC 6749 §4.1.3: the code was issued to the authenticated client. */
export function requireSameClient(data: CodeData, client: ClientRecord): void {
  if (data.clientId !== client.id)
    throw new OAuthError('invalid_grant', 'The authorization code was issued to another client.', {
      reason: 'code-other-client',
    });
}

/** RFC 6749 §4.1.3: redirect_uri is required and identical when it was in the authorization request. */
export function requireSameRedirectUri(data: CodeData, redirectUri: string | undefined): void {
  const ok = redirectUri === undefined ? !data.redirectUriProvided : redirectUri === data.redirectUri;
  if (!ok)
    throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request.', {
      reason: 'redirect-uri-mismatch',
    });
}

/** RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) must equal the stored code_challenge. */
export function requirePkceMatch(data: CodeData, codeVerifier: string): void {
  if (!verifierMatches(codeVerifier, data.codeChallenge)) {
    throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge.', {
      reason: 'pkce-mismatch',
    });
  }
}

/**
 * RFC 9449 §10: a code bound to a DPoP key (dpop_jkt, or the key of the PAR request's proof) is redeemed only with
 * a proof of that key; the RFC says only "reject". invalid_grant (RFC 6749 §5.2): the proof, if any, was valid,
 * but the code is not valid for this request, as for a bound refresh token.
 */
export function requireCodeKey(data: CodeData, jkt: string | undefined): void {
  if (data.dpopJkt === undefined || data.dpopJkt === jkt) return;
  throw new OAuthError(
    'invalid_grant',
    jkt === undefined
      ? 'The authorization code is bound to a DPoP key (dpop_jkt): redeem it with a DPoP proof of that key.'
      : 'The authorization code is bound to another DPoP key (dpop_jkt).',
    { reason: 'code-dpop-key-mismatch' },
  );
}

/** RFC 6749 §6: refresh_token is required. */
export function requireRefreshToken(params: RawParams): string {
  const token = single(params, 'refresh_token');
  if (!token)
    throw new OAuthError('invalid_request', 'refresh_token is required.', { reason: 'refresh-token-missing' });
  return token;
}

/**
 * RFC 6749 §6 and §3.3: an optional scope that may narrow, never widen, what was granted (`granted` are the
 * scopes the request may draw from). Without a scope parameter the request gets all of `granted`.
 */
export function requireScopeWithin(params: RawParams, granted: readonly string[]): string[] {
  const raw = single(params, 'scope');
  if (raw === undefined) return [...granted];
  const scopes = parseScope(raw);
  if (!scopes) throw new OAuthError('invalid_scope', 'scope is malformed.', { reason: 'scope-malformed' });
  const extra = scopes.filter((s) => !granted.includes(s));
  if (extra.length > 0)
    throw new OAuthError('invalid_scope', `Scope exceeds what was granted: ${echoInput(extra.join(' '))}.`, {
      reason: 'scope-exceeds-grant',
    });
  return scopes;
}

/** RFC 6749 §4.4 and §2.1: only confidential clients may use client_credentials. */
export function requireConfidentialClient(client: ClientRecord): void {
  if (isPublicClient(client)) {
    throw new OAuthError('unauthorized_client', 'A public client cannot use the client_credentials grant.', {
      reason: 'public-client',
    });
  }
}
