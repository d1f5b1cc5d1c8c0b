// openid-client plumbing the root tests share: loopback http options, reading the OAuth error a call failed
// with, and a code + PKCE authorization request with fresh verifier and state.
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

/** An authorization request for code + PKCE S256 (RFC 7636 §4) with a fresh verifier and state. */
export async function pkceRequest(
  config: oidc.Configuration,
  params: Record<string, string>,
): Promise<{ url: URL; verifier: string; state: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    ...params,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  return { url, verifier, state };
}
