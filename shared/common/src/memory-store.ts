// In-process key-value store for a single instance with nothing installed (no Redis). Same interface and
// semantics as the Redis store: values expire after their TTL, take() is single-use, claim() is first-wins,
// and capped key spaces refuse new keys when full — atomic here because each operation runs synchronously on
// Node's one JavaScript thread.
import { StoreFullError, type Claim, type KeySpace, type KeyValueStore } from './kv-store.js';

interface Entry {
  value: string;
  expiresAt: number;
  /** The capped key space it counts in, if any. */
  space?: string;
}

export class InMemoryKeyValueStore implements KeyValueStore {
  readonly description = 'in-process store (single instance; set REDIS_URL to share state between instances)';
  private readonly entries = new Map<string, Entry>();
  /** Live keys per capped key space. */
  private readonly spaces = new Map<string, Set<string>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly now: () => number = Date.now,
    sweepIntervalMs = 30_000,
  ) {
    // Expired entries are also dropped on read; the sweep only bounds memory for keys never read again.
    this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs);
    this.sweeper.unref();
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    if (entry.space) this.spaces.get(entry.space)?.delete(key);
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.remove(key);
      return undefined;
    }
    return entry;
  }

  private put(key: string, value: string, ttlSeconds: number, space?: string): void {
    this.remove(key);
    this.entries.set(key, {
      value,
      expiresAt: this.now() + Math.max(1, Math.ceil(ttlSeconds)) * 1000,
      ...(space ? { space } : {}),
    });
    if (space) {
      let keys = this.spaces.get(space);
      if (!keys) this.spaces.set(space, (keys = new Set()));
      keys.add(key);
    }
  }

  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.remove(key);
  }

  get size(): number {
    return this.entries.size;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.put(key, value, ttlSeconds);
  }

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async take(key: string): Promise<string | null> {
    const entry = this.live(key);
    if (!entry) return null;
    this.remove(key);
    return entry.value;
  }

  async delete(key: string): Promise<void> {
    this.remove(key);
  }

  async claim(key: string, claimTtlSeconds: number): Promise<Claim> {
    const marker = `${key}:claimed`;
    const first = !this.live(marker);
    if (first) this.put(marker, '1', claimTtlSeconds);
    return { value: this.live(key)?.value ?? null, first };
  }

  async setIn(space: KeySpace, key: string, value: string, ttlSeconds: number): Promise<void> {
    const keys = this.spaces.get(space.name);
    if (keys && !(this.live(key)?.space === space.name) && keys.size >= space.maxEntries) {
      // Count only live keys before refusing: expired ones may not have been swept yet.
      for (const k of keys) this.live(k);
      if (keys.size >= space.maxEntries) throw new StoreFullError(space.name);
    }
    this.put(key, value, ttlSeconds, space.name);
  }

  async addIn(space: KeySpace, key: string, ttlSeconds: number): Promise<boolean> {
    if (this.live(key)) return false;
    await this.setIn(space, key, '1', ttlSeconds);
    return true;
  }

  async takeFrom(_space: KeySpace, key: string): Promise<string | null> {
    return this.take(key);
  }

  async deleteFrom(_space: KeySpace, key: string): Promise<void> {
    this.remove(key);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
    this.spaces.clear();
  }
}
