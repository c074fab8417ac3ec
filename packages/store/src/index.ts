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

/**
 * What a script's in-process twin may do: synchronous operations on the store's keys (unprefixed, as given to
 * `Store.script`), with the semantics of the Redis commands the Lua side uses.
 */
export interface ScriptOps {
  get(key: string): string | null;
  /** SET, with PX when ttlMs is given. */
  set(key: string, value: string, ttlMs?: number): void;
  /** SET … NX: true when it set the value. */
  setIfAbsent(key: string, value: string, ttlMs?: number): boolean;
  /** INCRBY; the expiry (PEXPIRE) is set only when this call created the key. */
  incr(key: string, by: number, ttlMs?: number): number;
  del(key: string): void;
  /** PTTL in ms; null when the key is absent or has no expiry. */
  ttl(key: string): number | null;
}

/** A script's reply: a flat array of strings, integers and nulls (Lua `false`), as Redis returns it. */
export type ScriptReply = (string | number | null)[];

/**
 * A store operation of several steps that decide on what they read, atomically, in one round trip: a Lua script
 * on Redis (EVALSHA; KEYS prefixed by the store; keys the script builds from a KEYS entry by appending to it keep
 * the prefix) and its twin in TypeScript for the in-process store. Both must return the same reply for the same
 * state; a script's own tests run it on both implementations.
 */
export interface StoreScript {
  /** Unique among scripts: letters, digits and underscores. */
  name: string;
  /** Redis Lua. Return a flat table of strings and integers; use `false` for null (a nil would cut the table). */
  lua: string;
  /** The same logic for the in-process store: synchronous, so nothing interleaves. */
  local(ops: ScriptOps, keys: readonly string[], args: readonly string[]): ScriptReply;
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
  /**
   * Runs `script` atomically in one round trip (no other call interleaves): reads, decisions and writes that
   * `atomic`'s fixed steps cannot express. Arguments arrive as strings on both implementations.
   */
  script(script: StoreScript, keys: readonly string[], args: readonly (string | number)[]): Promise<ScriptReply>;
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

/**
 * Rejects when `work` has not settled `ms` after the call. Lag-tolerant: behind a busy event loop the timer fires
 * late, possibly with the reply already waiting in the socket, so the verdict waits for one pass of pending I/O
 * (setImmediate runs after the poll phase). Load then shows as latency, and only a store that truly does not
 * answer fails (ioredis' own command timeout would fail every command of a loaded process at once).
 */
function withDeadline<R>(work: Promise<R>, ms: number): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(new Error(`no answer within ${ms} ms`));
      });
    }, ms);
    work.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Every failure of the store's calls becomes a StoreUnavailableError (one type to recognise everywhere); each
 * call (but the bulk flush) fails when not answered within `timeoutMs`, so a frozen store fails fast.
 */
function guarded(store: Store, timeoutMs: number): Store {
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>, deadline = true) =>
    (...args: A): Promise<R> =>
      (deadline ? withDeadline(fn(...args), timeoutMs) : fn(...args)).catch((error: unknown) => {
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
    script: wrap(store.script.bind(store)),
    publish: wrap(store.publish.bind(store)),
    subscribe: wrap(store.subscribe.bind(store)),
    ping: wrap(store.ping.bind(store)),
    flush: wrap(store.flush.bind(store), false),
    close: store.close.bind(store),
  };
}

export async function createStore(options: StoreOptions = {}): Promise<Store> {
  const prefix = options.prefix ?? 'g3d:';
  if (options.redisUrl) {
    const store = new RedisStore(options.redisUrl, prefix);
    await store.connect();
    return guarded(store, options.commandTimeoutMs ?? 1_000);
  }
  return new MemoryStore(prefix);
}

export { MemoryStore, RedisStore };
