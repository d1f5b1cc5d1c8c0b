// Workshop mode: the steps the resource server tells its audience about while it checks a Bearer token
// (RFC 6750, RFC 9068 §4, RFC 8725). Steps name key ids, scopes, client ids and user ids, never the token.
import { decodeProtectedHeader } from 'jose';
import type { RequestTrace } from '@quartet/common';
import type { AccessToken } from './access-token-verifier.js';
import type { KeyFetch } from './key-fetch-observer.js';

/** The token's kid and alg as its header claims them (not verified: only to name them in a step). */
function header(token: string): { kid: string; alg: string } {
  try {
    const { kid, alg } = decodeProtectedHeader(token);
    return { kid: String(kid ?? '(none)'), alg: String(alg ?? '(none)') };
  } catch {
    return { kid: '(unreadable)', alg: '(unreadable)' };
  }
}

export function tokenRead(trace: RequestTrace): void {
  trace.record({
    title: 'Access token read from the Authorization header',
    detail:
      'Authorization: Bearer (RFC 6750 §2.1). Tokens in the query string are refused: URLs end up in logs (RFC 9700 §2.3).',
  });
}

export function noToken(trace: RequestTrace): void {
  trace.record({
    title: 'No access token presented',
    detail: 'Answered 401 with a bare Bearer challenge naming our metadata (RFC 6750 §3.1, RFC 9728 §5.1).',
    outcome: 'rejected',
  });
}

/** The metadata/JWKS requests this verification caused, with the times they were sent. */
export function keyFetches(
  trace: RequestTrace,
  token: string,
  fetches: readonly KeyFetch[],
  metadataUrl: string,
): void {
  if (!trace.traceId) return;
  const { kid } = header(token);
  trace.recordAll(
    fetches.map((f) =>
      f.url === metadataUrl
        ? {
            at: f.at,
            role: 'resource server',
            title: 'Authorization server metadata fetched',
            detail: `${f.url}: its issuer must equal AUTHORIZATION_SERVER, and it names the jwks_uri (RFC 8414 §3). Cached afterwards.`,
            outcome: 'info' as const,
          }
        : {
            at: f.at,
            role: 'resource server',
            title: `JWKS fetched because kid ${kid} was unknown`,
            detail: `${f.url}: the keys are cached; they are fetched again only for an unknown kid (at most once per cooldown) or when the cache ages out.`,
            outcome: 'info' as const,
          },
    ),
  );
}

export function verified(
  trace: RequestTrace,
  token: string,
  accessToken: AccessToken,
  fetches: readonly KeyFetch[],
  metadataUrl: string,
): void {
  if (!trace.traceId) return;
  const { kid, alg } = header(token);
  const fetchedKeys = fetches.some((f) => f.url !== metadataUrl);
  trace.record(
    fetchedKeys
      ? {
          title: `Signature verified with key kid=${kid} (${alg})`,
          detail:
            'With the key just fetched from the JWKS; later tokens signed with it need no call to the authorization server.',
        }
      : {
          title: `Signature verified with key kid=${kid} (${alg}) using the cached JWKS — no call to the authorization server`,
          detail:
            'Only ES256 is accepted, so alg none or HS256 tokens fail before any key is looked up (RFC 8725 §3.1).',
        },
  );
  const expiresIn = accessToken.exp - Math.floor(Date.now() / 1000);
  trace.record({
    title: 'iss/aud/typ/exp checked',
    detail:
      `iss is the trusted authorization server, aud includes this resource server, typ is at+jwt, not expired (expires in ${expiresIn} s), ` +
      `sub, client_id, scope, jti and iat present (RFC 9068 §4). Client ${accessToken.clientId}, user ${accessToken.sub}.`,
  });
}

export function clientToken(trace: RequestTrace, accessToken: AccessToken): void {
  trace.record({
    title: 'client_credentials token refused',
    detail: `sub equals client_id (${accessToken.clientId}): the token was issued to the client for itself, with no person behind it (RFC 9068 §2.2).`,
    outcome: 'rejected',
  });
}

export function scopeGranted(trace: RequestTrace, scope: string, accessToken: AccessToken): void {
  trace.record({ title: `Scope ${scope} granted`, detail: `The token carries: ${accessToken.scopes.join(' ')}.` });
}
