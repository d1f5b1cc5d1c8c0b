// A refusal as a table row: the exact OAuthError a check throws (RFC 6749 §5.2 code, description, HTTP status)
// and the fixed reason it tells `check.failed` subscribers.
import type { Test } from 'tap';
import { OAuthError } from '@quartet/common';

export interface Refusal {
  error: string;
  description: string;
  reason: string;
  status?: number;
  /** Response headers the error must carry (compared only when given). */
  headers?: Record<string, string>;
}

/** Checks that `run` throws exactly `expected`. */
export async function refuses(t: Test, run: () => unknown, expected: Refusal): Promise<void> {
  let thrown: unknown;
  try {
    await run();
  } catch (err) {
    thrown = err;
  }
  if (!(thrown instanceof OAuthError)) {
    t.fail(`expected an OAuthError, got ${String(thrown)}`);
    return;
  }
  const { headers, ...rest } = expected;
  t.same(
    { error: thrown.error, description: thrown.description, reason: thrown.reason, status: thrown.status },
    { status: 400, ...rest },
  );
  if (headers) t.same(thrown.headers, headers, 'headers');
}
