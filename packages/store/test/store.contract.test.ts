// One contract, two implementations: the in-process store and Redis (when REDIS_URL is set, as in CI).
import { createStore, type ScriptOps, type Store, type StoreScript } from '@g3d/store';
import { testConfig, testStorePrefix } from '@g3d/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const implementations: [string, string | undefined][] = [['memory', undefined]];
if (testConfig.REDIS_URL) implementations.push(['redis', testConfig.REDIS_URL]);
else it.skip('redis: set REDIS_URL to run the contract against Redis', () => {});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A script for the contract: a counter whose maximum is read from another key, in a key built from a KEYS entry
 * and an argument. Replies {1, count, ttl} when counted, {0, count, false} when refused (undone), {-1} when the
 * maximum is not set.
 */
const boundedCounter: StoreScript = {
  name: 'contract_bounded_counter',
  lua: `
local max = redis.call('GET', KEYS[1])
if not max then return {-1} end
local key = KEYS[2] .. ARGV[1]
local v = redis.call('INCRBY', key, 1)
if v == 1 then redis.call('PEXPIRE', key, ARGV[2]) end
if v > tonumber(max) then
  redis.call('INCRBY', key, -1)
  return {0, v - 1, false}
end
return {1, v, redis.call('PTTL', key)}`,
  local(ops: ScriptOps, keys, args) {
    const max = ops.get(keys[0] as string);
    if (max === null) return [-1];
    const key = (keys[1] as string) + (args[0] as string);
    const v = ops.incr(key, 1, Number(args[1]));
    if (v > Number(max)) {
      ops.incr(key, -1);
      return [0, v - 1, null];
    }
    return [1, v, ops.ttl(key)];
  },
};

/** Every other operation a twin may use, against what Redis does. */
const otherOps: StoreScript = {
  name: 'contract_other_ops',
  lua: `
local first = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', 60000) and 1 or 0
local second = redis.call('SET', KEYS[1], 'other', 'NX', 'PX', 60000) and 1 or 0
redis.call('SET', KEYS[2], 'plain')
local plainTtl = redis.call('PTTL', KEYS[2])
local value = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
return {first, second, value, redis.call('GET', KEYS[1]) or false, plainTtl == -1 and 'none' or 'some'}`,
  local(ops, keys, args) {
    const first = ops.setIfAbsent(keys[0] as string, args[0] as string, 60_000) ? 1 : 0;
    const second = ops.setIfAbsent(keys[0] as string, 'other', 60_000) ? 1 : 0;
    ops.set(keys[1] as string, 'plain');
    const plainTtl = ops.ttl(keys[1] as string);
    const value = ops.get(keys[0] as string);
    ops.del(keys[0] as string);
    return [first, second, value, ops.get(keys[0] as string), plainTtl === null ? 'none' : 'some'];
  },
};

describe.each(implementations)('store contract: %s', (_kind, redisUrl) => {
  let store: Store;
  beforeAll(async () => {
    store = await createStore({ redisUrl, prefix: testStorePrefix() });
  });
  afterAll(() => store.close());

  it('gets, sets and deletes', async () => {
    expect(await store.get('a')).toBeNull();
    await store.set('a', 'one');
    expect(await store.get('a')).toBe('one');
    await store.set('a', 'two');
    expect(await store.get('a')).toBe('two');
    await store.del('a');
    expect(await store.get('a')).toBeNull();
  });

  it('expires values after their ttl', async () => {
    await store.set('short', 'x', { ttlMs: 50 });
    expect(await store.get('short')).toBe('x');
    const ttl = await store.ttl('short');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(50);
    await sleep(120);
    expect(await store.get('short')).toBeNull();
    expect(await store.ttl('short')).toBeNull();
  });

  it('setIfAbsent lets exactly one of many concurrent callers win', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.setIfAbsent('once', String(i), { ttlMs: 5_000 })),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(await store.get('once')).toBe(String(winner));
  });

  it('incr counts atomically under concurrency and keeps the first ttl', async () => {
    const values = await Promise.all(Array.from({ length: 100 }, () => store.incr('counter', { ttlMs: 10_000 })));
    expect(new Set(values).size).toBe(100);
    expect(Math.max(...values)).toBe(100);
    const ttlBefore = (await store.ttl('counter')) ?? 0;
    await sleep(30);
    await store.incr('counter', { ttlMs: 10_000 });
    expect((await store.ttl('counter')) ?? 0).toBeLessThan(ttlBefore);
    expect(await store.incr('counter', { by: 5 })).toBe(106);
  });

  it('incr restarts from zero after its window expires', async () => {
    expect(await store.incr('window', { ttlMs: 50 })).toBe(1);
    expect(await store.incr('window', { ttlMs: 50 })).toBe(2);
    await sleep(120);
    expect(await store.incr('window', { ttlMs: 50 })).toBe(1);
  });

  it('atomic runs its steps in order and stops at the first refusal', async () => {
    await store.set('seq:value', 'v');
    expect(
      await store.atomic([
        { incr: 'seq:a', ttlMs: 10_000, max: 5 },
        { absent: 'seq:missing' },
        { take: 'seq:value' },
        { take: 'seq:missing' },
        { incr: 'seq:b', by: -2 },
      ]),
    ).toEqual({ values: [1, null, 'v', null, -2], refused: null });
    expect(await store.get('seq:value')).toBeNull();
    const ttl = (await store.ttl('seq:a')) ?? 0;
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10_000);
    expect(await store.ttl('seq:b')).toBeNull();

    // A key that exists refuses; the steps after it do not run.
    await store.set('seq:lock', '1', { ttlMs: 5_000 });
    const locked = await store.atomic([{ incr: 'seq:a' }, { absent: 'seq:lock' }, { incr: 'seq:c' }]);
    expect(locked.values).toEqual([2, null]);
    expect(locked.refused?.step).toBe(1);
    expect(locked.refused?.ttlMs).toBeGreaterThan(0);
    expect(locked.refused?.ttlMs).toBeLessThanOrEqual(5_000);
    expect(await store.get('seq:c')).toBeNull();

    // Above max: refused, the addition kept unless undone; ttlMs is the counter's.
    expect(await store.atomic([{ incr: 'seq:a', by: 4, max: 5 }, { incr: 'seq:c' }])).toEqual({
      values: [6],
      refused: { step: 0, ttlMs: expect.any(Number) as number },
    });
    expect(await store.atomic([{ incr: 'seq:a', max: 6, undo: true }])).toMatchObject({
      values: [7],
      refused: { step: 0 },
    });
    expect(await store.get('seq:a')).toBe('6');
    expect(await store.atomic([{ incr: 'seq:b', max: 0 }, { absent: 'seq:none' }])).toEqual({
      values: [-1, null],
      refused: null,
    });
    expect(await store.get('seq:c')).toBeNull();
  });

  it('atomic counters cannot be raced past their max', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () => store.atomic([{ incr: 'seq:race', ttlMs: 10_000, max: 10, undo: true }])),
    );
    expect(results.filter((r) => r.refused === null)).toHaveLength(10);
    expect(await store.get('seq:race')).toBe('10');
  });

  it('script decides on what it reads, with keys built from its KEYS, and replies alike on both stores', async () => {
    expect(await store.script(boundedCounter, ['sc:max', 'sc:count:'], ['a', 10_000])).toEqual([-1]);
    await store.set('sc:max', '2');
    const first = await store.script(boundedCounter, ['sc:max', 'sc:count:'], ['a', 10_000]);
    expect(first.slice(0, 2)).toEqual([1, 1]);
    expect(first[2]).toBeGreaterThan(0);
    expect(first[2]).toBeLessThanOrEqual(10_000);
    expect((await store.script(boundedCounter, ['sc:max', 'sc:count:'], ['a', 10_000])).slice(0, 2)).toEqual([1, 2]);
    expect(await store.script(boundedCounter, ['sc:max', 'sc:count:'], ['a', 10_000])).toEqual([0, 2, null]);
    // The built key lives under the store's prefix like any other.
    expect(await store.get('sc:count:a')).toBe('2');
    expect(await store.script(otherOps, ['sc:nx', 'sc:plain'], ['v'])).toEqual([1, 0, 'v', null, 'none']);
  });

  it('script runs atomically: concurrent calls cannot pass the maximum it read', async () => {
    await store.set('sc:race:max', '37');
    const replies = await Promise.all(
      Array.from({ length: 100 }, () => store.script(boundedCounter, ['sc:race:max', 'sc:race:'], ['n', 10_000])),
    );
    expect(replies.filter((r) => r[0] === 1)).toHaveLength(37);
    expect(await store.get('sc:race:n')).toBe('37');
  });

  it('keeps keys of different prefixes apart', async () => {
    const other = await createStore({ redisUrl, prefix: testStorePrefix() });
    try {
      await store.set('shared', 'mine');
      expect(await other.get('shared')).toBeNull();
    } finally {
      await other.close();
    }
  });

  it('flush empties its own prefix only', async () => {
    const other = await createStore({ redisUrl, prefix: testStorePrefix() });
    try {
      await Promise.all([store.set('f1', '1'), store.set('f2', '2', { ttlMs: 60_000 }), other.set('f1', 'kept')]);
      await store.flush();
      expect([await store.get('f1'), await store.get('f2'), await other.get('f1')]).toEqual([null, null, 'kept']);
    } finally {
      await other.close();
    }
  });

  it('publishes to every subscriber and stops after unsubscribe', async () => {
    const a: string[] = [];
    const b: string[] = [];
    const offA = await store.subscribe('events', (m) => a.push(m));
    const offB = await store.subscribe('events', (m) => b.push(m));
    await store.publish('events', 'first');
    await sleep(100);
    await offA();
    await store.publish('events', 'second');
    await sleep(100);
    await offB();
    await store.publish('events', 'third');
    await sleep(100);
    expect(a).toEqual(['first']);
    expect(b).toEqual(['first', 'second']);
  });

  it('does not deliver messages of other channels', async () => {
    const got: string[] = [];
    const off = await store.subscribe('one', (m) => got.push(m));
    await store.publish('two', 'nope');
    await store.publish('one', 'yes');
    await sleep(100);
    await off();
    expect(got).toEqual(['yes']);
  });

  it('answers ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});
