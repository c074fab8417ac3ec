// In-process store for the embedded default: same semantics as the Redis store, for one process.
import type { AtomicResult, AtomicStep, ScriptOps, ScriptReply, Store, StoreScript } from './index.ts';

interface Entry {
  value: string;
  expiresAt: number | null;
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
  private readonly channels = new Map<string, Set<(message: string) => void>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly prefix: string) {
    // Expired entries are dropped lazily on read and by this periodic sweep so memory stays bounded.
    this.sweeper = setInterval(() => this.sweep(), 30_000).unref();
  }

  async flush() {
    for (const key of [...this.entries.keys()]) if (key.startsWith(this.prefix)) this.entries.delete(key);
  }

  private live(key: string): Entry | undefined {
    const full = this.prefix + key;
    const entry = this.entries.get(full);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= Date.now()) {
      this.entries.delete(full);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries)
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.entries.delete(key);
  }

  async get(key: string) {
    return this.live(key)?.value ?? null;
  }

  async set(key: string, value: string, options: { ttlMs?: number } = {}) {
    this.entries.set(this.prefix + key, { value, expiresAt: options.ttlMs ? Date.now() + options.ttlMs : null });
  }

  async setIfAbsent(key: string, value: string, options: { ttlMs?: number } = {}) {
    if (this.live(key)) return false;
    await this.set(key, value, options);
    return true;
  }

  async del(key: string) {
    this.entries.delete(this.prefix + key);
  }

  async incr(key: string, options: { by?: number; ttlMs?: number } = {}) {
    return this.incrNow(key, options.by ?? 1, options.ttlMs);
  }

  async ttl(key: string) {
    return this.ttlNow(key);
  }

  async atomic(steps: readonly AtomicStep[]): Promise<AtomicResult> {
    // Synchronous from the first step to the last: nothing else runs in between.
    const values: AtomicResult['values'] = [];
    for (const [index, step] of steps.entries()) {
      if ('absent' in step) {
        values.push(null);
        if (this.live(step.absent)) return { values, refused: { step: index, ttlMs: this.ttlNow(step.absent) } };
      } else if ('take' in step) {
        values.push(this.live(step.take)?.value ?? null);
        this.entries.delete(this.prefix + step.take);
      } else {
        const by = step.by ?? 1;
        const value = this.incrNow(step.incr, by, step.ttlMs);
        values.push(value);
        if (step.max !== undefined && value > step.max) {
          if (step.undo) this.incrNow(step.incr, -by);
          return { values, refused: { step: index, ttlMs: this.ttlNow(step.incr) } };
        }
      }
    }
    return { values, refused: null };
  }

  async script(script: StoreScript, keys: readonly string[], args: readonly (string | number)[]): Promise<ScriptReply> {
    // Synchronous from the first operation to the last, like a Lua script in Redis.
    return script.local(this.ops, keys, args.map(String));
  }

  /** The operations a script's in-process twin runs with (keys unprefixed, as the script was given them). */
  private readonly ops: ScriptOps = {
    get: (key) => this.live(key)?.value ?? null,
    set: (key, value, ttlMs) => {
      this.entries.set(this.prefix + key, { value, expiresAt: ttlMs ? Date.now() + ttlMs : null });
    },
    setIfAbsent: (key, value, ttlMs) => {
      if (this.live(key)) return false;
      this.ops.set(key, value, ttlMs);
      return true;
    },
    incr: (key, by, ttlMs) => this.incrNow(key, by, ttlMs),
    del: (key) => {
      this.entries.delete(this.prefix + key);
    },
    ttl: (key) => this.ttlNow(key),
  };

  private incrNow(key: string, by: number, ttlMs?: number): number {
    const entry = this.live(key);
    if (entry) {
      const next = Number(entry.value) + by;
      if (!Number.isSafeInteger(next)) throw new Error(`value at ${key} is not an integer`);
      entry.value = String(next);
      return next;
    }
    this.entries.set(this.prefix + key, { value: String(by), expiresAt: ttlMs ? Date.now() + ttlMs : null });
    return by;
  }

  private ttlNow(key: string): number | null {
    const entry = this.live(key);
    if (!entry || entry.expiresAt === null) return null;
    return Math.max(0, entry.expiresAt - Date.now());
  }

  async publish(channel: string, message: string) {
    const handlers = this.channels.get(this.prefix + channel);
    if (!handlers) return;
    // Deliver asynchronously, like Redis: a publisher never runs subscriber code on its own stack.
    for (const handler of [...handlers]) queueMicrotask(() => handler(message));
  }

  async subscribe(channel: string, onMessage: (message: string) => void) {
    const full = this.prefix + channel;
    let handlers = this.channels.get(full);
    if (!handlers) this.channels.set(full, (handlers = new Set()));
    const handler = (message: string) => onMessage(message);
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
      if (handlers.size === 0) this.channels.delete(full);
    };
  }

  async ping() {}

  async close() {
    clearInterval(this.sweeper);
    this.entries.clear();
    this.channels.clear();
  }
}
