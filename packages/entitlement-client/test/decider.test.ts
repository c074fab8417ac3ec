// The decision on both stores (in-process always, Redis when REDIS_URL is set): exact under concurrency, one
// refusal reason per limit, nothing counted for a refusal or a replay, hostile input refused before the store,
// a missing or stale record refreshed through entitlement's channel, periods and windows by the given clock.
import { randomUUID } from 'node:crypto';

import {
  createEntitlementDecider,
  type Decision,
  entitlementKeys,
  type EntitlementRecord,
  RATE_WINDOW_MS,
  readPlanLimits,
  REFRESH_CHANNEL,
  writeEntitlementRecord,
} from '@g3d/entitlement-client';
import { createStore, type Store } from '@g3d/store';
import { testConfig, testStorePrefix } from '@g3d/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const implementations: [string, string | undefined][] = [['memory', undefined]];
if (testConfig.REDIS_URL) implementations.push(['redis', testConfig.REDIS_URL]);
else it.skip('redis: set REDIS_URL to run the decision against Redis', () => {});

const DAY = 86_400_000;
const T0 = Date.UTC(2030, 0, 10, 12, 0, 0);

function record(overrides: Partial<EntitlementRecord> = {}): EntitlementRecord {
  return {
    revision: 1,
    status: 'active',
    periodStart: T0 - DAY,
    periodEnd: T0 + 29 * DAY,
    validUntil: T0 + 29 * DAY,
    apiCalls: null,
    services: {
      'video-ai': { requests: 500, units: null, rateLimitPer15Min: 100_000 },
      'chat-builder': { requests: null, units: 1_000, rateLimitPer15Min: 1500 },
      'translate-ai': { requests: null, units: null, rateLimitPer15Min: 2000 },
    },
    limits: { seats: 5, projects: null, storageBytes: '10737418240' },
    ...overrides,
  };
}

const noCounters = { services: {}, apiCalls: 0, rate: [] };

describe.each(implementations)('entitlement decision: %s store', (_kind, redisUrl) => {
  let store: Store;
  let clock = T0;
  const now = () => clock;
  beforeAll(async () => {
    store = await createStore({ redisUrl, prefix: testStorePrefix() });
  });
  afterAll(() => store.close());

  const decider = () => createEntitlementDecider({ store: store, now, refreshTimeoutMs: 400 });
  const organization = async (r = record()) => {
    const id = randomUUID();
    await writeEntitlementRecord(store, id, r, noCounters, clock);
    return id;
  };
  const ask = (organizationId: string, service = 'video-ai', extra: Record<string, unknown> = {}) =>
    decider().authorize({
      organizationId,
      callerId: (extra.callerId as string) ?? CALLER,
      service,
      invocationId: randomUUID(),
      ...extra,
    });
  const CALLER = randomUUID();
  const tally = (decisions: Decision[]) => {
    const counts: Record<string, number> = {};
    for (const d of decisions) {
      const key = d.allowed ? 'allowed' : (d.refusal?.code ?? '?');
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  };

  it('allows within the limits and says what remains and when it resets', async () => {
    clock = T0;
    const org = await organization();
    const d = await ask(org);
    expect(d.allowed).toBe(true);
    expect(d.limits?.requests).toEqual({ limit: 500, used: 1, remaining: 499, resetSeconds: 29 * 86_400 });
    expect(d.limits?.rateLimit).toMatchObject({ limit: 100_000, used: 1, remaining: 99_999 });
    expect(d.limits?.rateLimit.resetSeconds).toBe(
      Math.ceil(((Math.floor(T0 / RATE_WINDOW_MS) + 1) * RATE_WINDOW_MS - T0) / 1000),
    );
    expect(d.limits?.apiCalls).toMatchObject({ limit: null, used: 1, remaining: null });
    expect(d.period).toEqual({ start: new Date(T0 - DAY), end: new Date(T0 + 29 * DAY) });
  });

  it('1,000 concurrent invocations against a quota of 500: exactly 500 allowed, 500 QUOTA_EXCEEDED', async () => {
    clock = T0;
    const org = await organization();
    const decisions = await Promise.all(Array.from({ length: 1000 }, () => ask(org)));
    expect(tally(decisions)).toEqual({ allowed: 500, QUOTA_EXCEEDED: 500 });
    expect(decisions.find((d) => !d.allowed)?.refusal).toMatchObject({
      reason: 'SERVICE_QUOTA',
      retryAfterSeconds: 29 * 86_400,
    });
    const { base } = entitlementKeys(org);
    expect(await store.get(`${base}q:video-ai:${T0 - DAY}`)).toBe('500');
    // Refusals took their addition back everywhere, the caller's rate counter included.
    expect(await store.get(`${base}r:${CALLER}:video-ai:${Math.floor(T0 / RATE_WINDOW_MS)}`)).toBe('500');
  });

  it('1,000 concurrent invocations against a rate limit of 500: exactly 500 allowed, 500 RATE_LIMITED', async () => {
    clock = T0;
    const org = await organization(
      record({ services: { 'video-ai': { requests: null, units: null, rateLimitPer15Min: 500 } } }),
    );
    const decisions = await Promise.all(Array.from({ length: 1000 }, () => ask(org)));
    expect(tally(decisions)).toEqual({ allowed: 500, RATE_LIMITED: 500 });
    const refused = decisions.find((d) => !d.allowed);
    expect(refused?.refusal?.reason).toBe('SERVICE_RATE_LIMIT');
    expect(refused?.refusal?.retryAfterSeconds).toBe(refused?.limits?.rateLimit.resetSeconds);
    // Another caller has a budget of its own; the next window starts afresh.
    expect((await ask(org, 'video-ai', { callerId: randomUUID() })).allowed).toBe(true);
    clock = (Math.floor(T0 / RATE_WINDOW_MS) + 1) * RATE_WINDOW_MS;
    expect((await ask(org)).allowed).toBe(true);
  });

  it('refuses a service the plan lacks (FORBIDDEN, PLAN_EXCLUDES_SERVICE), a suspension and an inactive subscription', async () => {
    clock = T0;
    const org = await organization();
    const excluded = await ask(org, 'code-forge');
    expect(excluded.refusal).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'PLAN_EXCLUDES_SERVICE',
      retryAfterSeconds: null,
    });
    expect(excluded.limits).toBeNull();
    const suspended = await organization(record({ status: 'suspended' }));
    expect((await ask(suspended)).refusal).toMatchObject({ code: 'FORBIDDEN', reason: 'SUSPENDED' });
    const cancelled = await organization(record({ status: 'cancelled' }));
    expect((await ask(cancelled)).refusal).toMatchObject({ code: 'FORBIDDEN', reason: 'SUBSCRIPTION_INACTIVE' });
    const pastDue = await organization(record({ status: 'past_due' }));
    expect((await ask(pastDue)).allowed).toBe(true);
    // Nothing was counted for the refusals.
    expect(Number(await store.get(`${entitlementKeys(org).base}a:${T0 - DAY}`))).toBe(0);
  });

  it('counts units against the unit quota and every service against the API-call allowance', async () => {
    clock = T0;
    const org = await organization(record({ apiCalls: 3 }));
    expect((await ask(org, 'chat-builder', { units: 600 })).limits?.units).toMatchObject({ used: 600, remaining: 400 });
    const over = await ask(org, 'chat-builder', { units: 401 });
    expect(over.refusal).toMatchObject({ code: 'QUOTA_EXCEEDED', reason: 'UNIT_QUOTA' });
    expect((await ask(org, 'chat-builder', { units: 400 })).limits?.units?.remaining).toBe(0);
    expect((await ask(org, 'translate-ai')).limits?.apiCalls).toMatchObject({ used: 3, remaining: 0 });
    expect((await ask(org, 'video-ai')).refusal).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      reason: 'API_CALL_ALLOWANCE',
    });
  });

  it('reports each quota threshold (80 %, 100 %) in exactly one decision', async () => {
    clock = T0;
    const org = await organization(
      record({ services: { 'video-ai': { requests: 10, units: null, rateLimitPer15Min: 100 } } }),
    );
    const decisions = await Promise.all(Array.from({ length: 12 }, () => ask(org)));
    const crossed = decisions.flatMap((d) => d.thresholds);
    expect(crossed.map((t) => [t.metric, t.threshold, t.used]).sort()).toEqual([
      ['requests', 100, 10],
      ['requests', 80, 8],
    ]);
  });

  it('a replayed invocation id gets the first decision and is counted once', async () => {
    clock = T0;
    const org = await organization();
    const invocationId = randomUUID();
    const first = await ask(org, 'video-ai', { invocationId, replayable: true });
    const again = await Promise.all(
      Array.from({ length: 20 }, () => ask(org, 'video-ai', { invocationId, replayable: true })),
    );
    expect(first.replayed).toBe(false);
    expect(again.every((d) => d.allowed && d.replayed && d.limits?.requests.used === 1)).toBe(true);
    expect(await store.get(`${entitlementKeys(org).base}q:video-ai:${T0 - DAY}`)).toBe('1');
    // A refusal is replayed as a refusal.
    const excludedId = randomUUID();
    await ask(org, 'code-forge', { invocationId: excludedId, replayable: true });
    expect((await ask(org, 'code-forge', { invocationId: excludedId, replayable: true })).refusal?.reason).toBe(
      'PLAN_EXCLUDES_SERVICE',
    );
  });

  it.each([
    [{ units: -1 }, 'units'],
    [{ units: 1.5 }, 'units'],
    [{ units: 1e12 }, 'units'],
    [{ units: Number.NaN }, 'units'],
    [{ units: '5' }, 'units'],
    [{ service: 'health-ai', units: 3 }, 'units'], // health-ai counts requests only
    [{ service: 'no-such-ai' }, 'service'],
    [{ service: '__proto__' }, 'service'],
    [{ organizationId: 'not-a-uuid' }, 'organizationId'],
    [{ callerId: "x'; DROP" }, 'callerId'],
    [{ invocationId: '../../etc' }, 'invocationId'],
  ])('refuses hostile input %j with BAD_USER_INPUT on %s, counting nothing', async (extra, field) => {
    clock = T0;
    const org = await organization();
    const request = {
      organizationId: org,
      callerId: CALLER,
      service: 'video-ai',
      invocationId: randomUUID(),
      ...extra,
    };
    await expect(decider().authorize(request as never)).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field },
    });
    expect(Number(await store.get(`${entitlementKeys(org).base}a:${T0 - DAY}`))).toBe(0);
  });

  it('a missing record is asked for on the refresh channel, then decided; nobody answering is SERVICE_UNAVAILABLE', async () => {
    clock = T0;
    const org = randomUUID();
    const asked: unknown[] = [];
    const off = await store.subscribe(REFRESH_CHANNEL, (message) => {
      asked.push(JSON.parse(message));
      void writeEntitlementRecord(store, org, record(), noCounters, clock);
    });
    try {
      expect((await ask(org)).allowed).toBe(true);
      expect(asked[0]).toEqual({ organizationId: org, at: T0 });
    } finally {
      await off();
    }
    await expect(ask(randomUUID())).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE', service: 'entitlement' },
    });
  });

  it('a record past its validity (period or trial over) is renewed, and the new period counts from zero', async () => {
    clock = T0;
    const org = await organization(
      record({ services: { 'video-ai': { requests: 2, units: null, rateLimitPer15Min: 100 } } }),
    );
    await ask(org);
    await ask(org);
    expect((await ask(org)).refusal?.reason).toBe('SERVICE_QUOTA');
    clock = T0 + 29 * DAY; // the period's end
    const renewals: number[] = [];
    const off = await store.subscribe(REFRESH_CHANNEL, (message) => {
      const { at } = JSON.parse(message) as { at: number };
      renewals.push(at);
      const next = record({
        revision: 2,
        periodStart: T0 + 29 * DAY,
        periodEnd: T0 + 60 * DAY,
        validUntil: T0 + 60 * DAY,
        services: { 'video-ai': { requests: 2, units: null, rateLimitPer15Min: 100 } },
      });
      void writeEntitlementRecord(store, org, next, noCounters, clock);
    });
    try {
      const renewed = await ask(org);
      expect(renewed.allowed).toBe(true);
      expect(renewed.limits?.requests.used).toBe(1);
      expect(renewed.period?.start).toEqual(new Date(T0 + 29 * DAY));
      expect(renewals[0]).toBe(T0 + 29 * DAY);
    } finally {
      await off();
    }
  });

  it('never replaces a record with an older revision, and keeps counters the store already has', async () => {
    clock = T0;
    const org = await organization(record({ revision: 5 }));
    await ask(org);
    const stale = await writeEntitlementRecord(
      store,
      org,
      record({ revision: 4, status: 'suspended' }),
      noCounters,
      clock,
    );
    expect(stale.written).toBe(false);
    const counters = { services: { 'video-ai': { requests: 0, units: 0 } }, apiCalls: 0, rate: [] };
    const newer = await writeEntitlementRecord(store, org, record({ revision: 6 }), counters, clock);
    expect(newer.written).toBe(true);
    expect((await ask(org)).limits?.requests.used).toBe(2);
  });

  it('plan limits come from the record; a missing one (or one written without limits) is asked for; nobody answering is SERVICE_UNAVAILABLE', async () => {
    clock = T0;
    const org = await organization(record({ limits: { seats: 3, projects: 10, storageBytes: null } }));
    expect(await readPlanLimits(store, org, { now })).toEqual({ seats: 3, projects: 10, storageBytes: null });

    // A header kept by an older writer, without limits: the reader asks for a rewrite instead of guessing.
    await store.del(entitlementKeys(org).planLimits);
    const asked: unknown[] = [];
    const off = await store.subscribe(REFRESH_CHANNEL, (message) => {
      asked.push(JSON.parse(message));
      void writeEntitlementRecord(store, org, record({ revision: 2, limits: unlimitedSeats }), noCounters, clock);
    });
    try {
      expect(await readPlanLimits(store, org, { now })).toEqual(unlimitedSeats);
      expect(asked[0]).toEqual({ organizationId: org, at: T0 });
    } finally {
      await off();
    }
    // Past the record's validity the limits are not trusted either.
    clock = T0 + 30 * DAY;
    await expect(readPlanLimits(store, org, { now, refreshTimeoutMs: 300 })).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE', service: 'entitlement' },
    });
    clock = T0;
    await expect(readPlanLimits(store, randomUUID(), { now, refreshTimeoutMs: 300 })).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    // Malformed limits count as missing.
    await store.set(entitlementKeys(org).planLimits, '3;x;-1');
    await expect(readPlanLimits(store, org, { now, refreshTimeoutMs: 300 })).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
  });
});

const unlimitedSeats = { seats: null, projects: null, storageBytes: '1099511627776' };
