// One value fetched from a remote source (the authorization server's metadata, its key set) and reused on the
// rules of HTTP caching with RFC 5861 §4 stale-if-error:
//
// - fresh for `maxAge` after it was fetched (RFC 9111 §4.2); after that it is refreshed, but in the background:
//   callers keep the value they have instead of waiting for the authorization server (RFC 5861 §3
//   stale-while-revalidate, without its upper bound: the stale-if-error bound below is the one that matters);
// - while refreshes fail, the last good value stays usable until fetchedAt + maxAge + maxStale (RFC 5861 §4),
//   then it is dropped: a value that old may no longer say what the source says;
// - one fetch at a time: every caller that needs a fetch joins the one in flight;
// - after a failure the next fetch waits a growing delay (`retryDelay`, doubling, at most `maxRetryDelay`), so
//   a burst of requests during an outage causes one attempt per back-off step, not one per request;
// - a fetch that takes longer than `timeout` counts as failed (its signal aborts the request); a caller never
//   waits longer than it asks to (`fetch(waitMs)`), and a fetch it stopped waiting for still serves the
//   callers that come after.
//
// Framework-free: the owner decides what a failure means for a request and subscribes to `events` for logs.
import { AsyncResource } from 'node:async_hooks';

export interface CacheEntry<T> {
  value: T;
  /** `now()` when the fetch that produced it completed. */
  fetchedAt: number;
}

export interface StaleIfErrorEvents<T> {
  /** A fetch failed; `failures` counts the consecutive failures of this outage (1 = it just began). */
  failed?(err: unknown, failures: number, retryInMs: number): void;
  /** The first time in an outage that a value past its max age is handed out. */
  servingStale?(entry: CacheEntry<T>, usableUntil: number): void;
  /** The first time in an outage that the last good value is past maxAge + maxStale and is no longer used. */
  expired?(entry: CacheEntry<T>): void;
  /** A fetch succeeded after `failures` failed ones that began at `since`. */
  recovered?(failures: number, since: number): void;
}

export interface StaleIfErrorOptions<T> {
  /** One fetch of the value; rejects when it cannot be had. `signal` aborts when `timeout` has passed. */
  load: (signal: AbortSignal) => Promise<T>;
  /** Milliseconds one fetch may take; after that it counts as failed, whether or not the loader stopped. */
  timeout: number;
  /** Milliseconds a value is fresh. */
  maxAge: number;
  /** Milliseconds past maxAge a value stays usable while refreshes fail (Infinity: for as long as needed). */
  maxStale: number;
  /** Milliseconds before the first retry after a failure; each further failure doubles it. */
  retryDelay: number;
  /** The longest delay between two attempts during an outage. */
  maxRetryDelay: number;
  /** Clock in milliseconds (tests move it); waits are real timers. */
  now?: () => number;
  /**
   * The async context background refreshes run in (default: the one the cache is created in). Background
   * refreshes must not run in the request that happened to notice the value was old: that request does not
   * wait for the refresh, so nothing that follows its async context (workshop traces, see
   * lib/key-fetch-observer.ts) should claim it. A cache created lazily during a request needs its owner's.
   */
  context?: AsyncResource;
  events?: StaleIfErrorEvents<T>;
}

/** The fetch a caller waited for did not give a value: it failed, or did not finish within the wait. */
export class FetchUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FetchUnavailableError';
  }
}

export class StaleIfErrorCache<T> {
  private entry: CacheEntry<T> | null = null;
  private inflight: Promise<T> | null = null;
  private failures = 0;
  private outageSince = 0;
  private retryAt = -Infinity;
  private lastError: unknown = null;
  private lastAttemptAt = -Infinity;
  private warnedStale = false;
  private warnedExpired = false;
  private readonly now: () => number;
  private readonly detached: AsyncResource;

  constructor(private readonly options: StaleIfErrorOptions<T>) {
    this.now = options.now ?? Date.now;
    this.detached = options.context ?? new AsyncResource('StaleIfErrorCache.refresh');
  }

  /**
   * The value to use now: fresh, or stale within maxStale (then a background refresh is started unless one is
   * in flight or the back-off forbids it). Undefined when there is none or it is too old to use.
   */
  usable(): T | undefined {
    const entry = this.entry;
    if (!entry) return undefined;
    const now = this.now();
    const age = now - entry.fetchedAt;
    if (age < this.options.maxAge) return entry.value;
    if (this.mayStart(now)) this.detached.runInAsyncScope(() => void this.start().catch(() => undefined));
    if (age >= this.options.maxAge + this.options.maxStale) {
      if (this.failures > 0 && !this.warnedExpired) {
        this.warnedExpired = true;
        this.notify('expired', entry);
      }
      return undefined;
    }
    if (this.failures > 0 && !this.warnedStale) {
      this.warnedStale = true;
      this.notify('servingStale', entry, entry.fetchedAt + this.options.maxAge + this.options.maxStale);
    }
    return entry.value;
  }

  /** The last good value and when it was fetched, whatever its age. */
  get current(): CacheEntry<T> | null {
    return this.entry;
  }

  /** True while the last fetch failed (an outage is going on). */
  get failing(): boolean {
    return this.failures > 0;
  }

  /** True while a fetch is in flight. */
  get fetching(): boolean {
    return this.inflight !== null;
  }

  /** True when no fetch may start now because the last one failed too recently. */
  get backingOff(): boolean {
    return this.inflight === null && this.now() < this.retryAt;
  }

  /** Milliseconds since the last fetch started (Infinity before the first). */
  get sinceLastAttempt(): number {
    return this.now() - this.lastAttemptAt;
  }

  /** Why the last fetch failed (null after a success). */
  get error(): unknown {
    return this.lastError;
  }

  /**
   * Joins the fetch in flight or starts one (even during the back-off: the caller decided it is needed) and
   * waits for it at most `waitMs`. Throws FetchUnavailableError when it fails or takes longer.
   */
  async fetch(waitMs: number): Promise<T> {
    const pending = this.inflight ?? this.start();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      const giveUp = () => reject(new FetchUnavailableError(`no answer within ${Math.round(waitMs)} ms`));
      timer = setTimeout(giveUp, Math.max(0, waitMs));
      timer.unref();
    });
    try {
      return await Promise.race([pending, timeout]);
    } catch (err) {
      if (err instanceof FetchUnavailableError) throw err;
      throw new FetchUnavailableError('the fetch failed', { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Calls a subscriber; a failing one (a logger, say) must not fail the request that happened to trigger it. */
  private notify<K extends keyof StaleIfErrorEvents<T>>(
    event: K,
    ...args: Parameters<NonNullable<StaleIfErrorEvents<T>[K]>>
  ): void {
    try {
      (this.options.events?.[event] as ((...a: typeof args) => void) | undefined)?.(...args);
    } catch {
      // Nothing to do: the cache's state is already right, and a broken subscriber has no one to tell.
    }
  }

  private mayStart(now: number): boolean {
    return this.inflight === null && now >= this.retryAt;
  }

  private start(): Promise<T> {
    this.lastAttemptAt = this.now();
    const attempt = this.bounded().then(
      (value) => {
        this.entry = { value, fetchedAt: this.now() };
        if (this.failures > 0) this.notify('recovered', this.failures, this.outageSince);
        this.failures = 0;
        this.retryAt = -Infinity;
        this.lastError = null;
        this.warnedStale = false;
        this.warnedExpired = false;
        return value;
      },
      (err: unknown) => {
        if (this.failures === 0) this.outageSince = this.lastAttemptAt;
        this.failures++;
        const delay = Math.min(this.options.retryDelay * 2 ** (this.failures - 1), this.options.maxRetryDelay);
        this.retryAt = this.now() + delay;
        this.lastError = err;
        this.notify('failed', err, this.failures, delay);
        throw err;
      },
    );
    const shared = attempt.finally(() => {
      if (this.inflight === shared) this.inflight = null;
    });
    this.inflight = shared;
    return shared;
  }

  /** load(), settled by `timeout` at the latest even if the loader ignores its signal. */
  private bounded(): Promise<T> {
    const signal = AbortSignal.timeout(this.options.timeout);
    const aborted = new Promise<never>((_, reject) => {
      const timedOut = () =>
        reject(new FetchUnavailableError(`no answer within ${this.options.timeout} ms`, { cause: signal.reason }));
      signal.addEventListener('abort', timedOut, { once: true });
    });
    let loading: Promise<T>;
    try {
      loading = this.options.load(signal);
    } catch (err) {
      loading = Promise.reject(err);
    }
    return Promise.race([loading, aborted]);
  }
}
