// A fixed number of upload slots per process, taken without waiting: an upload either gets one at once or is
// refused (503 + Retry-After, RFC 9110 §15.6.4 and §10.2.3), so the memory uploads hold is bounded by
// `limit` times what one upload holds, whatever the number of clients. Refusing instead of queueing keeps a
// queued request from holding its connection and, once read, its body; the client retries later, ideally at
// another replica.
export class UploadSlots {
  private used = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('the upload slot limit must be a positive integer');
  }

  /** Slots taken right now. */
  get inUse(): number {
    return this.used;
  }

  /** Takes a slot: its release function (calling it again does nothing), or null when every slot is taken. */
  tryAcquire(): (() => void) | null {
    if (this.used >= this.limit) return null;
    this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
    };
  }
}
