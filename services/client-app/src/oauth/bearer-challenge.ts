// The resource server's Bearer challenge (RFC 6750 §3): a 401 or 403 carries `WWW-Authenticate: Bearer
// error="…", error_description="…"`, which says why the token was refused. Read by the resource API client
// (for what it reports) and by the lab (which calls the resource server without oauth4webapi).

/** Reads error and error_description from a WWW-Authenticate: Bearer challenge (RFC 6750 §3). */
export function parseBearerChallenge(header: string | null): { error?: string; description?: string } {
  if (!header) return {};
  const error = /\berror="([^"]*)"/.exec(header)?.[1];
  const description = /\berror_description="([^"]*)"/.exec(header)?.[1];
  return { ...(error ? { error } : {}), ...(description ? { description } : {}) };
}
