// The shared store: counters, revocation lists, idempotency keys and pub/sub. Redis when REDIS_URL is set,
// an in-process implementation otherwise. Both pass the same contract tests (test/store.contract.test.ts).
import { MemoryStore } from './memory.ts';
import { RedisStore } from './redis.ts';

/**
 * One step of `Store.atomic`:
 * - `absent`: refuses when the key exists;
 * - `incr`: like `Store.incr`; refuses when the result is above `max`, taking the addition back first with
 *   `undo`;
 * - `take`: reads and deletes the key (its value, or null).
 */
export type AtomicStep =
  { absent: string } | { incr: string; by?: number; ttlMs?: number; max?: number; undo?: boolean } | { take: string };

export interface AtomicResult {
  /**
   * One per step that ran, the refusing one included: the counter (before any undo), the taken value, null for
   * `absent`.
   */
  values: (number | string | null)[];
  /** The refusing step's index and its key's remaining ttl in ms (null: no expiry); null when all steps ran. */
  refused: { step: number; ttlMs: number | null } | null;
}

export interface Store {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  /** Sets a value; with ttlMs it expires. */
  set(key: string, value: string, options?: { ttlMs?: number }): Promise<void>;
  /** Sets only when absent; true when this call set it (atomic: exactly one concurrent caller wins). */
  setIfAbsent(key: string, value: string, options?: { ttlMs?: number }): Promise<boolean>;
  del(key: string): Promise<void>;
  /** Atomically adds `by` (default 1); ttlMs starts when the key is created and is not extended by later calls. */
  incr(key: string, options?: { by?: number; ttlMs?: number }): Promise<number>;
  /** Remaining time to live in ms; null when the key is absent or has no expiry. */
  ttl(key: string): Promise<number | null>;
  /**
   * Runs `steps` in order as one atomic operation (one round trip; no other call interleaves), stopping at the
   * first that refuses: several checks and counters at the price of one command.
   */
  atomic(steps: readonly AtomicStep[]): Promise<AtomicResult>;
  publish(channel: string, message: string): Promise<void>;
  /** Delivers messages published after the returned promise resolves; call the result to unsubscribe. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  /** Deletes every key under this store's prefix (operations and fault tests: "the store came back empty"). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  redisUrl?: string | undefined;
  /** Prefix for every key and channel, so several environments (or test files) can share one Redis. */
  prefix?: string;
  /** A Redis command not answered within this fails (default 1 s). */
  commandTimeoutMs?: number | undefined;
}

/** The store could not answer (Redis down, frozen or unreachable): callers answer SERVICE_UNAVAILABLE. */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`The shared store is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** Every failure of the store's calls becomes a StoreUnavailableError (one type to recognise everywhere). */
function guarded(store: Store): Store {
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      fn(...args).catch((error: unknown) => {
        throw error instanceof StoreUnavailableError ? error : new StoreUnavailableError(error);
      });
  return {
    kind: store.kind,
    get: wrap(store.get.bind(store)),
    set: wrap(store.set.bind(store)),
    setIfAbsent: wrap(store.setIfAbsent.bind(store)),
    del: wrap(store.del.bind(store)),
    incr: wrap(store.incr.bind(store)),
    ttl: wrap(store.ttl.bind(store)),
    atomic: wrap(store.atomic.bind(store)),
    publish: wrap(store.publish.bind(store)),
    subscribe: wrap(store.subscribe.bind(store)),
    ping: wrap(store.ping.bind(store)),
    flush: wrap(store.flush.bind(store)),
    close: store.close.bind(store),
  };
}

export async function createStore(options: StoreOptions = {}): Promise<Store> {
  const prefix = options.prefix ?? 'g3d:';
  if (options.redisUrl) {
    const store = new RedisStore(options.redisUrl, prefix, { commandTimeoutMs: options.commandTimeoutMs });
    await store.connect();
    return guarded(store);
  }
  return new MemoryStore(prefix);
}

export { MemoryStore, RedisStore };
