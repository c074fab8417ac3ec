// Redis store: shared by every replica. Subscriptions use a second connection (a subscribed Redis
// connection cannot run other commands).
import { Redis } from 'ioredis';

import type { Store } from './index.ts';

// INCRBY and set the expiry only when this call created the key, atomically.
const INCR_WITH_TTL = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if v == tonumber(ARGV[1]) and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`;

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly client: Redis;
  private subscriber: Redis | undefined;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    // lazyConnect + a bounded retry so an unreachable Redis fails startup with a clear error instead of hanging.
    // Auto-pipelining batches the commands issued in one tick into one write: fewer syscalls under load.
    this.client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
      enableAutoPipelining: true,
    });
    // Sent once, then called by its SHA (EVALSHA) instead of shipping the script with every call.
    this.client.defineCommand('g3dIncrWithTtl', { numberOfKeys: 1, lua: INCR_WITH_TTL });
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

  async publish(channel: string, message: string) {
    await this.client.publish(this.prefix + channel, message);
  }

  async subscribe(channel: string, onMessage: (message: string) => void) {
    if (!this.subscriber) {
      this.subscriber = this.client.duplicate();
      this.subscriber.on('error', () => {});
      this.subscriber.on('message', (ch: string, message: string) => {
        for (const handler of this.handlers.get(ch) ?? []) handler(message);
      });
    }
    const full = this.prefix + channel;
    let set = this.handlers.get(full);
    if (!set) {
      this.handlers.set(full, (set = new Set()));
      await this.subscriber.subscribe(full);
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

  async close() {
    await Promise.allSettled([this.client.quit(), this.subscriber?.quit()]);
  }
}
