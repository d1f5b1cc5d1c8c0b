// Resource indicators (RFC 8707): a client may name the resource server it wants a token for; the token's
// `aud` is that resource. Only resources this server knows (RESOURCE_AUDIENCE and RESOURCES) are accepted.
import { OAuthError, echoInput } from '@quartet/common';
import type { RawParams } from '../lib/params.js';

/**
 * RFC 8707 §2: `resource` is an absolute URI without a fragment; an unknown or malformed one is refused with
 * invalid_target. We issue one audience per token, so several `resource` parameters are refused too
 * (§2 lets a server refuse what it cannot honour). Returns undefined when the client named none.
 */
export function readResource(params: RawParams, known: readonly string[]): string | undefined {
  const value = params.resource;
  if (Array.isArray(value))
    throw new OAuthError('invalid_target', 'Only one resource per request is supported.', {
      reason: 'resource-repeated',
    });
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OAuthError('invalid_target', 'resource must be an absolute URI (RFC 8707 §2).', {
      reason: 'resource-malformed',
    });
  }
  if (url.hash || value.includes('#'))
    throw new OAuthError('invalid_target', 'resource must not contain a fragment (RFC 8707 §2).', {
      reason: 'resource-fragment',
    });
  if (!known.includes(value))
    throw new OAuthError('invalid_target', `Unknown resource: ${echoInput(value)}.`, { reason: 'resource-unknown' });
  return value;
}

/** RFC 8707 §2.2: a token request may only name a resource the grant covers. */
export function requireAuthorizedResource(requested: string | undefined, authorized: string): string {
  if (requested !== undefined && requested !== authorized) {
    throw new OAuthError('invalid_target', `This grant does not cover the resource ${echoInput(requested)}.`, {
      reason: 'resource-not-granted',
    });
  }
  return authorized;
}
