// OAuth 2.0 Protected Resource Metadata (RFC 9728): what a client needs to know to call us — which
// authorization server issues our tokens, which scopes exist, how to present a token.
//
// - RFC 9728 §2: the document. `resource` is REQUIRED and is RESOURCE_ID exactly as configured (it is also the
//   `aud` every token must carry, RFC 9068 §4); `scopes_supported` and `resource_name` are RECOMMENDED;
//   `authorization_servers` names the one issuer we trust; `bearer_methods_supported` is ["header"] because
//   the query method is refused (RFC 9700 §2.3) and the form-body method is not implemented.
//   `dpop_signing_alg_values_supported` lists the proof algorithms we accept (RFC 9449 §7.1 `algs`, the shared
//   list) and `dpop_bound_access_tokens_required` says whether DPOP_REQUIRED refuses Bearer tokens (RFC 9728
//   §2, RFC 9449 §7.2). Left out on purpose: `jwks_uri` and `resource_signing_alg_values_supported` (we sign
//   nothing), `tls_client_certificate_bound_access_tokens` (its default, false, is the truth),
//   `resource_documentation` / policy / ToS URIs (there are none to point to).
// - RFC 9728 §3.1: the metadata URL is the resource identifier with `/.well-known/oauth-protected-resource`
//   inserted between the host and the path, any terminating slash removed first.
// - RFC 9728 §5.1: that URL is what the `resource_metadata` parameter of our Bearer challenges names.

export const WELL_KNOWN_PATH = '/.well-known/oauth-protected-resource';

/** The scopes the routes require (RFC 6749 §3.3); photos and documents of the token's user. */
export const SCOPES_SUPPORTED = ['photos:read', 'photos:write', 'documents:read', 'documents:write'] as const;

export const RESOURCE_NAME = 'Quartet photos and documents';

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: string[];
  resource_name: string;
  dpop_signing_alg_values_supported: string[];
  dpop_bound_access_tokens_required: boolean;
}

/** The path component of `resourceId` without a terminating slash ('' for `http://host:port` or `.../`). */
function resourcePath(resourceId: string): string {
  return new URL(resourceId).pathname.replace(/\/+$/, '');
}

/** RFC 9728 §3.1: `https://api.example/v1` → `https://api.example/.well-known/oauth-protected-resource/v1`. */
export function resourceMetadataUrl(resourceId: string): string {
  return `${new URL(resourceId).origin}${WELL_KNOWN_PATH}${resourcePath(resourceId)}`;
}

/**
 * The paths this process answers the metadata on: the §3.1 path (which includes the resource identifier's
 * path, if any, for a reverse proxy that forwards it as is) and, when that differs, the bare well-known path
 * (for one that maps the resource identifier's path onto our root, as it does for the API itself).
 */
export function resourceMetadataPaths(resourceId: string): string[] {
  const path = resourcePath(resourceId);
  return path === '' ? [WELL_KNOWN_PATH] : [`${WELL_KNOWN_PATH}${path}`, WELL_KNOWN_PATH];
}

/**
 * The URL a client called to reach `requestUrl` (our path and query) — what a DPoP proof's htu names (RFC 9449
 * §4.3 step 9): RESOURCE_ID with the path appended, as a reverse proxy maps the resource identifier's path
 * onto our root. Never built from the Host header, which the caller chooses.
 */
export function externalUrl(resourceId: string, requestUrl: string): string {
  return `${resourceId.replace(/\/+$/, '')}${requestUrl.startsWith('/') ? '' : '/'}${requestUrl}`;
}

export function protectedResourceMetadata(options: {
  resourceId: string;
  authorizationServer: string;
  dpopRequired: boolean;
  dpopAlgorithms: readonly string[];
}): ProtectedResourceMetadata {
  return {
    // Exactly as configured: RFC 9728 §3.3 has clients compare it byte for byte with the identifier they used.
    resource: options.resourceId,
    // The issuer identifier the verifier requires in `iss` and in the AS metadata (RFC 8414 §3.3).
    authorization_servers: [options.authorizationServer],
    scopes_supported: [...SCOPES_SUPPORTED],
    bearer_methods_supported: ['header'],
    resource_name: RESOURCE_NAME,
    dpop_signing_alg_values_supported: [...options.dpopAlgorithms],
    dpop_bound_access_tokens_required: options.dpopRequired,
  };
}
