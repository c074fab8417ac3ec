// The decision and the ledger together, as a wrapper's process uses them (decide, then record the usage before
// answering; entitlement consumes it): exact under concurrency on the in-process store, one ledger row per
// invocation, usage reconciled from the ledger after a store flush, replays counted once, thresholds announced
// once per period.
import { randomUUID } from 'node:crypto';

import { counterSuffix, entitlementKeys } from '@g3d/entitlement-client';
import { MemoryStore } from '@g3d/store';
import { testStorePrefix } from '@g3d/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { awayFromWindowEdge, member, organizationOn, outcomes, type Runtime, startRuntime } from './support.ts';

const invoke = (rt: Runtime, caller: ReturnType<typeof member>, service = 'video-ai', extra: object = {}) =>
  rt.gate.invoke(caller, { service, operation: 'test', ...extra }, async () => 'answer');

const statuses = async (rt: Runtime, organizationId: string) => {
  const { rows } = await rt.db.pool.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM entitlement.usage_records WHERE organization_id = $1 GROUP BY status',
    [organizationId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
};

describe('one process, the in-process store', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime({ store: new MemoryStore(testStorePrefix()) });
  });
  afterAll(() => rt.close());

  it('1,000 concurrent invocations against a quota of 500: 500 allowed, 500 QUOTA_EXCEEDED, 1,000 ledger rows', async () => {
    const org = await organizationOn(rt.services, 'professional', {
      services: { 'video-ai': { requests: 500, rateLimitPer15Min: 1_000_000 } },
    });
    const caller = member(org);
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => invoke(rt, caller)));
    expect(outcomes(results)).toEqual({ OK: 500, QUOTA_EXCEEDED: 500 });
    await rt.settle();
    expect(await statuses(rt, org)).toEqual({ ALLOWED: 500, QUOTA_EXCEEDED: 500 });
  });

  it('1,000 concurrent invocations against a rate limit of 500: 500 allowed, 500 RATE_LIMITED, 1,000 ledger rows', async () => {
    const org = await organizationOn(rt.services, 'professional', {
      services: { 'video-ai': { requests: null, rateLimitPer15Min: 500 } },
    });
    const caller = member(org);
    await awayFromWindowEdge();
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => invoke(rt, caller)));
    expect(outcomes(results)).toEqual({ OK: 500, RATE_LIMITED: 500 });
    await rt.settle();
    expect(await statuses(rt, org)).toEqual({ ALLOWED: 500, RATE_LIMITED: 500 });
  });
});

describe('the test store (Redis when REDIS_URL is set)', () => {
  let rt: Runtime;
  // A clock a minute into a 15-minute window, a millisecond further at each reading: no test crosses a window.
  let clock = Date.UTC(2032, 5, 1, 10, 1, 0);
  beforeAll(async () => {
    rt = await startRuntime({ now: () => (clock += 1) });
  });
  afterAll(() => rt.close());

  it('a flushed store mid-period: the next decision still sees the usage recorded, pending events included', async () => {
    const org = await organizationOn(rt.services, 'professional', {
      services: { 'video-ai': { requests: 100, rateLimitPer15Min: 70 } },
    });
    const caller = member(org);
    for (let i = 0; i < 40; i += 1) await invoke(rt, caller);
    await rt.settle(); // 40 in the ledger
    for (let i = 0; i < 20; i += 1) await invoke(rt, caller); // 20 more, still waiting in the event log
    await rt.store.flush();
    const sub = await rt.services.subscriptions.current(org);
    const decision = await rt.decider.authorize({
      organizationId: org,
      callerId: caller.userId as string,
      service: 'video-ai',
      invocationId: randomUUID(),
    });
    expect(decision.limits?.requests).toMatchObject({ used: 61, remaining: 39 });
    // The caller's 15-minute window was reconciled too (70 per window: 60 used + this one).
    expect(decision.limits?.rateLimit).toMatchObject({ used: 61, remaining: 9 });
    const { base } = entitlementKeys(org);
    expect(await rt.store.get(base + counterSuffix.requests('video-ai', sub.currentPeriodStart.getTime()))).toBe('61');
  });

  it('a replayed idempotency id is decided and recorded once', async () => {
    const org = await organizationOn(rt.services, 'professional');
    const caller = member(org);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => invoke(rt, caller, 'video-ai', { idempotencyKey: 'client-retry-1' })),
    );
    expect(outcomes(results)).toEqual({ OK: 10 });
    await invoke(rt, caller, 'video-ai', { idempotencyKey: 'client-retry-2' });
    expect(await rt.settle()).toBeGreaterThan(0);
    expect(await statuses(rt, org)).toEqual({ ALLOWED: 2 });
    const view = await rt.services.access.entitlements(org);
    expect(view.usage.services['video-ai']?.requests).toBe(2);
  });

  it('announces 80 % and 100 % of a quota once per period, and refuses past it', async () => {
    const org = await organizationOn(rt.services, 'professional', {
      services: { 'chat-builder': { units: 1_000 } },
    });
    const caller = member(org);
    await Promise.all(Array.from({ length: 10 }, () => invoke(rt, caller, 'chat-builder', { units: 100 })));
    await expect(invoke(rt, caller, 'chat-builder', { units: 1 })).rejects.toMatchObject({
      extensions: { code: 'QUOTA_EXCEEDED', reason: 'UNIT_QUOTA' },
    });
    await rt.settle();
    const { rows } = await rt.db.pool.query<{ metric: string; threshold: number; used: number }>(
      `SELECT metric, threshold, used FROM entitlement.quota_thresholds WHERE organization_id = $1 ORDER BY threshold`,
      [org],
    );
    expect(rows).toEqual([
      { metric: 'units', threshold: 80, used: 800 },
      { metric: 'units', threshold: 100, used: 1000 },
    ]);
    const events = await rt.db.pool.query<{ payload: { threshold: number; service: string } }>(
      `SELECT payload FROM events.event_log WHERE topic = 'entitlement.quota-threshold-reached'
       AND payload->>'organizationId' = $1 ORDER BY created_at`,
      [org],
    );
    expect(events.rows.map((r) => [r.payload.service, r.payload.threshold])).toEqual([
      ['chat-builder', 80],
      ['chat-builder', 100],
    ]);
  });

  it('records refusals, failed operations and their latency; a caller without an organization is refused unrecorded', async () => {
    const org = await organizationOn(rt.services, 'free');
    const caller = member(org);
    await expect(invoke(rt, caller, 'code-forge')).rejects.toMatchObject({
      extensions: { code: 'FORBIDDEN', reason: 'PLAN_EXCLUDES_SERVICE' },
    });
    await expect(
      rt.gate.invoke(caller, { service: 'chat-builder', operation: 'chat' }, async () => {
        throw new Error('upstream down');
      }),
    ).rejects.toThrow('upstream down');
    await expect(invoke(rt, member(null as never))).rejects.toMatchObject({
      extensions: { code: 'FORBIDDEN', reason: 'NO_ORGANIZATION' },
    });
    await rt.settle();
    const { rows } = await rt.db.pool.query(
      `SELECT service, status, reason, succeeded, latency_ms >= 0 AS timed, period_start IS NOT NULL AS period
       FROM entitlement.usage_records WHERE organization_id = $1 ORDER BY occurred_at`,
      [org],
    );
    expect(rows).toEqual([
      {
        service: 'code-forge',
        status: 'FORBIDDEN',
        reason: 'PLAN_EXCLUDES_SERVICE',
        succeeded: false,
        timed: true,
        period: true,
      },
      { service: 'chat-builder', status: 'ALLOWED', reason: null, succeeded: false, timed: true, period: true },
    ]);
  });

  it('refuses a usage record that breaks the contract before anything is written', async () => {
    await expect(
      rt.meter.record({
        invocationId: 'nope',
        organizationId: randomUUID(),
        userId: null,
        apiKeyId: null,
        callerKind: 'user',
        service: 'video-ai',
        operation: 'x',
        units: -5,
        status: 'ALLOWED',
        reason: null,
        succeeded: true,
        latencyMs: 1,
        occurredAt: new Date().toISOString(),
        periodStart: null,
        periodEnd: null,
        thresholds: [],
      }),
    ).rejects.toThrow();
  });
});
