// Protocol events: the protocol core says what happened (`code.redeemed`, `refresh.reused`, `check.failed` …)
// and side concerns — metrics, workshop tracing — subscribe in their own plugins, so no check line calls a
// counter or a tracer. node-oidc-provider does the same with an EventEmitter on its provider object.
//
// Why not node:events directly: listeners here are synchronous and their failures must never reach protocol
// code (a broken metrics listener must not turn a token response into a 500), and the event names and payloads
// are typed per service. This is those two rules on top of a Map, nothing more.

/** A service's events: name → payload. */
export type EventMap = { [name: string]: object };

export type Listener<P> = (payload: P) => void;

export class ProtocolEvents<E extends EventMap> {
  readonly #listeners = new Map<keyof E, Listener<never>[]>();

  /** `onListenerError`: where a listener's exception goes (a log line), instead of the emitting request. */
  constructor(private readonly onListenerError: (error: unknown, event: string) => void = () => {}) {}

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    const list = this.#listeners.get(event) ?? [];
    list.push(listener as Listener<never>);
    this.#listeners.set(event, list);
    return () => {
      const current = this.#listeners.get(event) ?? [];
      this.#listeners.set(
        event,
        current.filter((l) => l !== listener),
      );
    };
  }

  /** Calls every listener of `event` in subscription order; a listener that throws is reported, not rethrown. */
  emit<K extends keyof E>(event: K, payload: E[K]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as Listener<E[K]>)(payload);
      } catch (error) {
        this.onListenerError(error, String(event));
      }
    }
  }

  /** Whether anything listens (lets an emitter skip building an expensive payload). */
  has(event: keyof E): boolean {
    return (this.#listeners.get(event)?.length ?? 0) > 0;
  }
}
