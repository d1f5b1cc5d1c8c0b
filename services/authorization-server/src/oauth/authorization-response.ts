// Authorization responses (RFC 6749 §4.1.2 success, §4.1.2.1 error) sent by redirect, always with the
// issuer (RFC 9207 §2) so the client can detect mix-up attacks.
import { ApiError, isStorageOutage } from '@quartet/common';

export function authorizationResponseUrl(redirectUri: string, params: Record<string, string | undefined>): string {
  // RFC 6749 §3.1.2: the redirect URI may carry a query, which must be kept when adding parameters.
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  return url.toString();
}

/** Maps an error to the parameters of an error redirect: outages (and a full store) become temporarily_unavailable. */
export function errorResponseParams(err: unknown): { error: string; error_description: string } {
  if (err instanceof ApiError) return err.toJSON();
  if (isStorageOutage(err)) {
    return {
      error: 'temporarily_unavailable',
      error_description: 'A storage service is unavailable; try again shortly.',
    };
  }
  return { error: 'server_error', error_description: 'An unexpected error occurred.' };
}
