// RFC 6749 §3.1 and §3.2: request parameters MUST NOT be included more than once. Fastify's query and
// form parsers turn a repeated name into an array, which is how repeats are detected here; the authorization
// endpoint and the form endpoints refuse them with the one rule below.
import { OAuthError, echoInput } from '@quartet/common';

export type RawParams = Record<string, string | string[] | undefined>;

/** Names that appear more than once. */
export function repeatedParams(params: RawParams): string[] {
  return Object.entries(params)
    .filter(([, v]) => Array.isArray(v))
    .map(([k]) => k);
}

/** RFC 6749 §3.1, §3.2: parameters MUST NOT be included more than once. */
export function rejectRepeatedParameters(params: RawParams): void {
  const repeated = repeatedParams(params);
  if (repeated.length > 0)
    throw new OAuthError('invalid_request', `Parameter repeated: ${echoInput(repeated.join(', '))}.`, {
      reason: 'parameter-repeated',
    });
}

/** The single value of a parameter; empty values count as absent (RFC 6749 §3.1). Arrays give `undefined`. */
export function single(params: RawParams, name: string): string | undefined {
  const v = params[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}
