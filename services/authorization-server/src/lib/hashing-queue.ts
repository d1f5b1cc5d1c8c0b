// Password hashing in a bounded queue. Each scrypt check takes 128·N·r bytes (32 MiB at the default cost) and
// tens of milliseconds of CPU on libuv's thread pool, so a burst of logins (right or wrong) could otherwise
// claim memory and every pool thread at once: at most `concurrency` run, at most `maxWaiting` more wait, and
// beyond that the login is refused at once with 503 + Retry-After (OWASP ASVS V2.4: hashing must not become
// a denial-of-service lever). p-queue does the queueing; the bound is checked before adding.
import PQueue from 'p-queue';
import { BusyError } from '@quartet/common';

export class HashingQueueFullError extends BusyError {
  constructor() {
    super('Too many sign-ins are being checked right now; try again in a few seconds.');
    this.name = 'HashingQueueFullError';
  }
}

export class HashingQueue {
  private readonly queue: PQueue;

  constructor(
    concurrency: number,
    private readonly maxWaiting: number,
  ) {
    this.queue = new PQueue({ concurrency });
  }

  /** Runs `fn` when a slot is free; throws HashingQueueFullError when `maxWaiting` jobs already wait. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.queue.pending >= this.queue.concurrency && this.queue.size >= this.maxWaiting) {
      return Promise.reject(new HashingQueueFullError());
    }
    return this.queue.add(fn);
  }

  /** Jobs running and waiting, for tests and metrics. */
  get load(): { running: number; waiting: number } {
    return { running: this.queue.pending, waiting: this.queue.size };
  }
}
