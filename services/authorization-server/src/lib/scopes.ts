// Scopes (RFC 6749 §3.3): a space-delimited list of case-sensitive tokens.

/** What each scope lets a client do, in plain words for the consent page. */
export const SCOPE_DESCRIPTIONS: Record<string, string> = {
  'photos:read': 'See your photos',
  'photos:write': 'Add and delete your photos',
  'documents:read': 'Read your documents',
  'documents:write': 'Create and delete your documents',
};

export const SUPPORTED_SCOPES = Object.keys(SCOPE_DESCRIPTIONS);

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Splits a scope parameter into unique tokens; null when the syntax is invalid. */
export function parseScope(value: string): string[] | null {
  const tokens = value.split(' ');
  if (tokens.some((t) => !SCOPE_TOKEN.test(t))) return null;
  return [...new Set(tokens)];
}

export function describeScope(scope: string): string {
  return SCOPE_DESCRIPTIONS[scope] ?? scope;
}

export function covers(granted: readonly string[], requested: readonly string[]): boolean {
  return requested.every((s) => granted.includes(s));
}
