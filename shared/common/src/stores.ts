// Picks the key-value store from configuration: Redis when REDIS_URL is set, else the in-process store.
import { RedisKeyValueStore, type KeyValueStore } from './kv-store.js';
import { InMemoryKeyValueStore } from './memory-store.js';

export function createKeyValueStore(redisUrl: string | undefined, prefix: string): KeyValueStore {
  return redisUrl ? new RedisKeyValueStore(redisUrl, prefix) : new InMemoryKeyValueStore();
}

/** The one start-up line for the single-instance mode: what it means and how to leave it. */
export const SINGLE_INSTANCE_NOTICE =
  'single-instance mode: codes and sessions are kept in this process (lost on restart, not shared between ' +
  'instances); set REDIS_URL=redis://host:6379 to use Redis';
