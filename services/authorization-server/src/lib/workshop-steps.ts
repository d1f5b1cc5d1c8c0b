// Workshop mode: the texts of the steps the authorization server tells its audience about; which event
// records which step is plugins/workshop-tracing.ts. Each cites the RFC section it shows at work. Steps name clients, users (by username),
// scopes, redirect URIs and key ids, never a token, code, secret, password, state or code_verifier.
import type { StepInput } from '@quartet/common';
import type { AuthorizationRequest, ClientRecord, CodeData } from '../domain/records.js';

export function clientAuthenticated(client: ClientRecord, method: string): StepInput {
  const detail =
    method === 'none'
      ? `Public client ${client.id}: it has no secret, so PKCE is what ties the request to it (RFC 6749 §2.1, RFC 7636).`
      : method === 'private_key_jwt'
        ? `Client ${client.id} sent a JWT signed with its private key: the signature verified with a key it registered, aud names this server, exp is near and the jti was never seen before (RFC 7523 §2.2, §3). No secret is shared.`
        : `Client ${client.id} proved its secret with ${method}; the server keeps only a SHA-256 hash and compares in constant time (RFC 6749 §2.3.1).`;
  return { title: `Client authenticated (${method})`, detail };
}

export function grantType(grantType: string): StepInput {
  return {
    title: `grant_type ${grantType}`,
    detail: `The client is allowed this grant (RFC 6749 §5.2 unauthorized_client otherwise).`,
  };
}

export function requestValidated(request: AuthorizationRequest): StepInput {
  return {
    title: 'Authorization request validated',
    detail:
      `Client ${request.clientId}; redirect_uri ${request.redirectUri} is registered and matches exactly; response_type=code; ` +
      `scope ${request.scopes.join(' ')}; PKCE code_challenge with method S256; ${request.state !== undefined ? 'state present' : 'no state'}; ` +
      `tokens will be for ${request.resource} (RFC 6749 §4.1.1, RFC 7636 §4.3). The request waits server-side for login and consent.`,
  };
}

export function requestPushed(request: AuthorizationRequest, expiresIn: number): StepInput {
  const bound = request.dpopJkt ? `; the code will be bound to the DPoP key ${request.dpopJkt} (RFC 9449 §10)` : '';
  return {
    title: 'Authorization request pushed (PAR)',
    detail:
      `Client ${request.clientId} sent its authorization request straight to the server, authenticated as at the token endpoint (RFC 9126 §2); ` +
      `validated as at /authorize: redirect_uri ${request.redirectUri} is registered, scope ${request.scopes.join(' ')}, PKCE S256${bound}. ` +
      `It waits server-side under a request_uri that works once, for ${expiresIn} s, for this client only: the browser carries nothing else.`,
  };
}

export function pushedRequestUsed(request: AuthorizationRequest): StepInput {
  return {
    title: 'Pushed authorization request used',
    detail: `The browser brought only client_id ${request.clientId} and the request_uri; the pushed request was taken (single use) and checked again against the client's registration (RFC 9126 §4). It waits server-side for login and consent.`,
  };
}

export function sessionFound(username: string): StepInput {
  return {
    title: `Login session found: ${username} is already logged in`,
    detail: 'No password asked: the browser presented a valid session cookie.',
  };
}

export function loggedIn(username: string): StepInput {
  return {
    title: `User logged in as ${username}`,
    detail:
      'The password was checked against its scrypt hash (never stored or logged); a fresh session id was issued (no session fixation).',
  };
}

export function consentShown(username: string, clientId: string, scopes: string[]): StepInput {
  return {
    title: 'Consent page shown',
    detail: `${username} is asked whether ${clientId} may have: ${scopes.join(' ')}.`,
  };
}

export function consentApproved(clientId: string, scopes: string[]): StepInput {
  return {
    title: 'Consent approved',
    detail: `The user approved ${scopes.join(' ')} for ${clientId}; the consent is stored and remembered next time.`,
  };
}

export function consentRemembered(clientId: string, scopes: string[]): StepInput {
  return {
    title: 'Consent remembered',
    detail: `The user approved ${scopes.join(' ')} for ${clientId} before; no consent page this time.`,
  };
}

export function codeIssued(data: CodeData, ttlSeconds: number): StepInput {
  return {
    title: 'Authorization code issued',
    detail:
      `256 random bits, bound to client ${data.clientId}, redirect_uri ${data.redirectUri}, the PKCE S256 challenge and scope ${data.scopes.join(' ')}; ` +
      `valid ${ttlSeconds} s; single use. Sent back through the browser with state and iss (RFC 6749 §4.1.2, RFC 9207).`,
  };
}

export function codeConsumed(): StepInput {
  return {
    title: 'Authorization code found and consumed (single use)',
    detail:
      'Claimed in one atomic step (SET NX with the read): a second redemption is recognised as a replay (RFC 6749 §4.1.2, §10.5).',
  };
}

export function codeNotFound(): StepInput {
  return { title: 'Authorization code not usable', detail: 'Unknown, expired or already used.', outcome: 'rejected' };
}

export function codeReplayed(grantId?: string): StepInput {
  return {
    title: 'Reuse detected: grant revoked',
    detail: `The code had already been redeemed by this client; ${grantId ? `grant ${grantId}` : 'its grant'} and every token issued from it are revoked (RFC 6749 §4.1.2).`,
    outcome: 'rejected',
  };
}

export function sameClient(clientId: string): StepInput {
  return { title: 'The code was issued to this client', detail: `client_id ${clientId} (RFC 6749 §4.1.3).` };
}

export function redirectUriMatches(data: CodeData): StepInput {
  return {
    title: 'redirect_uri matches the authorization request',
    detail: data.redirectUriProvided
      ? `${data.redirectUri}, identical to the one in the authorization request (RFC 6749 §4.1.3).`
      : 'None was sent in the authorization request, and none now.',
  };
}

export function pkceVerified(): StepInput {
  return {
    title: 'PKCE verified (S256)',
    detail:
      'BASE64URL(SHA256(code_verifier)) equals the stored S256 challenge: whoever redeems the code started the flow (RFC 7636 §4.6).',
  };
}

export function codeKeyMatches(data: CodeData): StepInput {
  return {
    title: "The DPoP proof's key is the one the code is bound to",
    detail: `The authorization request named the key with thumbprint ${data.dpopJkt} (dpop_jkt or the PAR request's proof), and the token request proves it (RFC 9449 §10).`,
  };
}

export function codeKeyMismatch(): StepInput {
  return {
    title: 'DPoP key does not match the code',
    detail:
      'The code is bound to a DPoP key (RFC 9449 §10) and this token request has no proof of that key: a stolen code is useless without it.',
    outcome: 'rejected',
  };
}

export function pkceFailed(): StepInput {
  return {
    title: 'PKCE failed',
    detail:
      'BASE64URL(SHA256(code_verifier)) differs from the stored S256 challenge: this is not the party that started the flow (RFC 7636 §4.6).',
    outcome: 'rejected',
  };
}

export function accessTokenSigned(
  kid: string | undefined,
  alg: string | undefined,
  expiresIn: number,
  audience: string,
  scope: string,
): StepInput {
  return {
    title: `Access token signed with kid=${kid} (${alg})`,
    detail: `An RFC 9068 JWT (typ at+jwt); expires in ${expiresIn} s; aud=${audience}; scope ${scope}. Resource servers verify it with the published keys, without calling back.`,
  };
}

export function refreshTokenIssued(): StepInput {
  return {
    title: 'Refresh token issued',
    detail: 'Stored only as a SHA-256 hash; it rotates on every use (RFC 9700 §4.14).',
  };
}

export function refreshTokenRotated(grantId: string): StepInput {
  return {
    title: 'Refresh token rotated',
    detail: `The presented refresh token belongs to this client and live grant ${grantId}; it is now spent and a new one issued. Presenting the old one again would revoke the grant (RFC 9700 §4.14.2).`,
  };
}

export function refreshTokenKept(grantId: string): StepInput {
  return {
    title: 'Refresh token used, not rotated',
    detail: `The presented refresh token belongs to this client and live grant ${grantId}; it stays valid (REFRESH_TOKEN_ROTATION is off: the client is confidential or the token bound to its DPoP key, so a stolen copy is useless alone, FAPI 2.0 §5.3.2.1).`,
  };
}

export function refreshReuse(grantId: string | undefined): StepInput {
  return {
    title: 'Reuse detected: grant revoked',
    detail: `The refresh token had already been spent, so two parties hold it; grant ${grantId ?? ''} and its tokens are revoked (RFC 9700 §4.14.2).`,
    outcome: 'rejected',
  };
}

export function clientCredentialsIssued(clientId: string): StepInput {
  return {
    title: 'client_credentials: the client acts for itself',
    detail: `No user involved; sub = client_id = ${clientId} (RFC 6749 §4.4, RFC 9068 §2.2); no refresh token.`,
  };
}

export function accessTokenRevoked(): StepInput {
  return {
    title: 'Access token revoked',
    detail:
      'Signed by this server for this client; its jti is remembered as revoked until it expires (RFC 7009 §2.1). Resource servers that verify locally still accept it until then.',
  };
}

export function grantRevokedByClient(grantId: string): StepInput {
  return {
    title: 'Refresh token revoked: grant ended',
    detail: `Grant ${grantId}, its refresh tokens and (for introspection) its access tokens end (RFC 7009 §2.1).`,
  };
}

export function nothingToRevoke(): StepInput {
  return {
    title: 'Nothing to revoke',
    detail: "The token is unknown or not this client's; answered 200 anyway, revealing nothing (RFC 7009 §2.2).",
    outcome: 'info',
  };
}

export function introspected(active: boolean, kind: 'access token' | 'refresh token', scope?: string): StepInput {
  return active
    ? { title: `Introspection: active ${kind}`, detail: `scope ${scope ?? ''} (RFC 7662 §2.2).` }
    : {
        title: 'Introspection: inactive',
        detail:
          'Unknown, expired, revoked, or not this client\'s token: only {"active": false} is answered (RFC 7662 §2.2).',
        outcome: 'info',
      };
}
