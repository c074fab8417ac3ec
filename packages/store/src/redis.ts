// Redis store: shared by every replica. Subscriptions use a second connection (a subscribed Redis
// connection cannot run other commands).
import { createHash } from 'node:crypto';

import { Redis } from 'ioredis';

import type { AtomicResult, AtomicStep, ScriptReply, Store, StoreScript } from './index.ts';

// INCRBY and set the expiry only when this call created the key, atomically.
const INCR_WITH_TTL = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if v == tonumber(ARGV[1]) and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`;

// Store.atomic: KEYS are the steps' keys, ARGV four fields per step (kind, by, ttlMs, max: '' for none; the
// kind 'incr!' undoes on refusal). Replies {refused step (1-based, 0: none), its key's PTTL, values...}; absent
// values are false (nil). The counter logic is INCR_WITH_TTL's.
const ATOMIC = `
local out = {0, 0}
for i, key in ipairs(KEYS) do
  local kind, by, ttl, max = ARGV[i * 4 - 3], tonumber(ARGV[i * 4 - 2]), tonumber(ARGV[i * 4 - 1]), ARGV[i * 4]
  if kind == 'absent' then
    if redis.call('EXISTS', key) == 1 then out[1] = i; out[2] = redis.call('PTTL', key); return out end
    out[i + 2] = false
  elseif kind == 'take' then
    out[i + 2] = redis.call('GET', key)
    redis.call('DEL', key)
  else
    local v = redis.call('INCRBY', key, by)
    if v == by and ttl > 0 then redis.call('PEXPIRE', key, ttl) end
    out[i + 2] = v
    if max ~= '' and v > tonumber(max) then
      if kind == 'incr!' then redis.call('INCRBY', key, -by) end
      out[1] = i; out[2] = redis.call('PTTL', key); return out
    end
  end
end
return out`;

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly client: Redis;
  private subscriber: Redis | undefined;
  private subscriberReady: Promise<void> | undefined;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  /** Each script's SHA-1 by name (EVALSHA; loaded on NOSCRIPT).*/
  private readonly scripts = new Map<string, string>();

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    // lazyConnect so an unreachable Redis fails startup with a clear error instead of hanging. Fail fast while
    // Redis is away: no offline queue (a command without a connection fails at once instead of waiting for a
    // reconnect), so security decisions fail closed fast; a frozen Redis fails by the deadline of createStore's
    // wrapper (not ioredis' commandTimeout, which fails every command of a process whose event loop lags).
    // Auto-pipelining batches the commands issued in one tick into one write: fewer syscalls under load.
    this.client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2_000,
      // Reconnect quickly and keep trying: the store comes back without a restart.
      retryStrategy: (attempt) => Math.min(attempt * 50, 1_000),
      enableAutoPipelining: true,
    });
    // Sent once, then called by its SHA (EVALSHA) instead of shipping the script with every call.
    this.client.defineCommand('g3dIncrWithTtl', { numberOfKeys: 1, lua: INCR_WITH_TTL });
    this.client.defineCommand('g3dAtomic', { lua: ATOMIC });
    this.client.on('error', () => {
      /* reported by the failing command and by /readyz; avoid unhandled 'error' events */
    });
  }

  async connect() {
    try {
      await this.client.connect();
      await this.client.ping();
    } catch (error) {
      this.client.disconnect();
      throw error;
    }
  }

  async get(key: string) {
    return this.client.get(this.prefix + key);
  }

  async set(key: string, value: string, options: { ttlMs?: number } = {}) {
    if (options.ttlMs) await this.client.set(this.prefix + key, value, 'PX', options.ttlMs);
    else await this.client.set(this.prefix + key, value);
  }

  async setIfAbsent(key: string, value: string, options: { ttlMs?: number } = {}) {
    const result = options.ttlMs
      ? await this.client.set(this.prefix + key, value, 'PX', options.ttlMs, 'NX')
      : await this.client.set(this.prefix + key, value, 'NX');
    return result === 'OK';
  }

  async del(key: string) {
    await this.client.del(this.prefix + key);
  }

  async incr(key: string, options: { by?: number; ttlMs?: number } = {}) {
    const client = this.client as Redis & { g3dIncrWithTtl(key: string, by: number, ttlMs: number): Promise<number> };
    return Number(await client.g3dIncrWithTtl(this.prefix + key, options.by ?? 1, options.ttlMs ?? 0));
  }

  async ttl(key: string) {
    const ms = await this.client.pttl(this.prefix + key);
    return ms < 0 ? null : ms;
  }

  async atomic(steps: readonly AtomicStep[]): Promise<AtomicResult> {
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (const step of steps) {
      if ('absent' in step) {
        keys.push(this.prefix + step.absent);
        args.push('absent', 0, 0, '');
      } else if ('take' in step) {
        keys.push(this.prefix + step.take);
        args.push('take', 0, 0, '');
      } else {
        keys.push(this.prefix + step.incr);
        args.push(step.undo ? 'incr!' : 'incr', step.by ?? 1, step.ttlMs ?? 0, step.max ?? '');
      }
    }
    const client = this.client as Redis & {
      g3dAtomic(...args: (string | number)[]): Promise<(number | string | null)[]>;
    };
    const [refusedAt, ttl, ...values] = await client.g3dAtomic(keys.length, ...keys, ...args);
    // A refusing `absent` has no value in the reply: pad to the steps that ran.
    const ran = refusedAt ? Number(refusedAt) : steps.length;
    while (values.length < ran) values.push(null);
    return {
      values,
      refused: refusedAt ? { step: Number(refusedAt) - 1, ttlMs: Number(ttl) < 0 ? null : Number(ttl) } : null,
    };
  }

  async script(script: StoreScript, keys: readonly string[], args: readonly (string | number)[]): Promise<ScriptReply> {
    // EVALSHA as a plain command (lighter than ioredis' script commands); a Redis that does not know the script
    // yet (first use, restart, SCRIPT FLUSH) answers NOSCRIPT: load it and run it again.
    let sha = this.scripts.get(script.name);
    if (sha === undefined) {
      sha = createHash('sha1').update(script.lua).digest('hex');
      this.scripts.set(script.name, sha);
    }
    const argv: (string | number)[] = [sha, keys.length];
    for (const key of keys) argv.push(this.prefix + key);
    for (const arg of args) argv.push(arg);
    try {
      return (await this.client.call('evalsha', argv)) as ScriptReply;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      await this.client.call('script', ['load', script.lua]);
      return (await this.client.call('evalsha', argv)) as ScriptReply;
    }
  }

  async publish(channel: string, message: string) {
    await this.client.publish(this.prefix + channel, message);
  }

  async subscribe(channel: string, onMessage: (message: string) => void) {
    this.subscriberReady ??= (async () => {
      const subscriber = this.client.duplicate();
      this.subscriber = subscriber;
      subscriber.on('error', () => {});
      subscriber.on('message', (ch: string, message: string) => {
        for (const handler of this.handlers.get(ch) ?? []) handler(message);
      });
      await subscriber.connect();
    })();
    await this.subscriberReady;
    const full = this.prefix + channel;
    let set = this.handlers.get(full);
    if (!set) {
      this.handlers.set(full, (set = new Set()));
      await this.subscriber?.subscribe(full);
    }
    const handler = (message: string) => onMessage(message);
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size === 0) {
        this.handlers.delete(full);
        await this.subscriber?.unsubscribe(full);
      }
    };
  }

  async ping() {
    await this.client.ping();
  }

  async flush() {
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(
        cursor,
        'MATCH',
        `${this.prefix.replace(/[*?[\]]/g, '\\$&')}*`,
        'COUNT',
        500,
      );
      if (keys.length) await this.client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  async close() {
    await Promise.allSettled([this.client.quit(), this.subscriber?.quit()]);
  }
}
