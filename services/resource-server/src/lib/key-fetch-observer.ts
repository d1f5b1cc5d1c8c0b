// Workshop mode: tells which request made the token verifier fetch the authorization server's metadata
// (RFC 8414 §3) or keys (RFC 7517 JWKS), so a trace can say "verified with the cached keys, no call to the
// authorization server" or "JWKS fetched because the kid was unknown". jose's remote key set calls fetch in
// the async context of the verification that needed the keys; an AsyncLocalStorage follows it there, so the
// verifier itself needs no change. Outside a watched verification the wrapper only forwards the call.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface KeyFetch {
  url: string;
  /** ISO time the request was sent. */
  at: string;
}

const watching = new AsyncLocalStorage<KeyFetch[]>();

/** A fetch that notes its URL in the watched verification it runs in (if any), then calls `inner` (default: global fetch). */
export function observeKeyFetches(inner?: typeof fetch): typeof fetch {
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    watching.getStore()?.push({ url, at: new Date().toISOString() });
    return (inner ?? fetch)(input, init);
  };
}

/** Runs `fn`, collecting into `fetches` every fetch made on its behalf (also when it throws). */
export function watchKeyFetches<T>(fetches: KeyFetch[], fn: () => Promise<T>): Promise<T> {
  return watching.run(fetches, fn);
}
