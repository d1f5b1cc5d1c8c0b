// openid-client plumbing the root tests share: loopback http options, reading the OAuth error a call failed
// with, a code + PKCE authorization request with fresh verifier and state, and another client at the same server.
import * as oidc from 'openid-client';

/** Plain http is only for loopback tests; openid-client refuses it unless told. RFC 8414 discovery. */
export const loopback = { execute: [oidc.allowInsecureRequests], algorithm: 'oauth2' as const };

export interface Failure {
  status?: number;
  error?: string;
  description?: string;
}

/** The OAuth error (status, code, description) a call fails with (openid-client's ResponseBodyError). */
export async function failure(run: () => Promise<unknown>): Promise<Failure> {
  try {
    await run();
  } catch (err) {
    const e = err as {
      status?: number;
      error?: string;
      error_description?: string;
      cause?: { parameters?: { error?: string } }[];
    };
    // A 401 with a WWW-Authenticate challenge is reported by the challenge (WWWAuthenticateChallengeError).
    return { status: e.status, error: e.error ?? e.cause?.[0]?.parameters?.error, description: e.error_description };
  }
  return {};
}

/** Code + PKCE S256 request parameters (RFC 7636 §4) with a fresh verifier and state, to push or to send. */
export async function pkceParams(
  params: Record<string, string>,
): Promise<{ params: Record<string, string>; verifier: string; state: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  return {
    params: {
      ...params,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    },
    verifier,
    state,
  };
}

/** An authorization request for code + PKCE S256 (RFC 7636 §4) with a fresh verifier and state. */
export async function pkceRequest(
  config: oidc.Configuration,
  params: Record<string, string>,
): Promise<{ url: URL; verifier: string; state: string }> {
  const request = await pkceParams(params);
  return { url: oidc.buildAuthorizationUrl(config, request.params), verifier: request.verifier, state: request.state };
}

/** The server `config` talks to, as another client or with another client authentication (loopback http). */
export function withClient(config: oidc.Configuration, clientId: string, auth: oidc.ClientAuth): oidc.Configuration {
  const other = new oidc.Configuration(config.serverMetadata(), clientId, {}, auth);
  oidc.allowInsecureRequests(other);
  return other;
}
