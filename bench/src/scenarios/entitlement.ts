// Entitlement decisions: what one authorize costs through the shared store. `store-incr` is the baseline, a bare
// INCR loop on the same store (ioredis INCR on Redis with REDIS_URL, the in-process store's incr otherwise);
// `authorize` is the decision the AI wrappers take per invocation (packages/entitlement-client: one script run
// reading the organization's record and moving four counters), both with BENCH_CONNECTIONS operations in flight.
// Printed as authorize / store-incr (target ≥ 0.5).
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { createEntitlementDecider, writeEntitlementRecord } from '@g3d/entitlement-client';
import { AI_SERVICES } from '@g3d/manifest';
import { createStore, type Store } from '@g3d/store';
import { testConfig, testStorePrefix } from '@g3d/testkit';
import { Redis } from 'ioredis';

import { type ServerUsage, startUsage } from '../load/http-load.ts';
import type { BenchContext, Measurement, Scenario } from '../scenario.ts';

const STORE_INCR = 'store-incr';

interface LoopRun {
  operations: number;
  failures: number;
  latencies: number[];
  server: ServerUsage;
}

/** `concurrency` workers, each starting its next operation when the last is done, for `durationS`. */
async function loop(operation: () => Promise<boolean>, concurrency: number, durationS: number): Promise<LoopRun> {
  const usage = startUsage();
  const end = performance.now() + durationS * 1000;
  const run = { operations: 0, failures: 0, latencies: [] as number[] };
  const worker = async () => {
    while (performance.now() < end) {
      const started = performance.now();
      const ok = await operation();
      const done = performance.now();
      if (done > end) return;
      run.operations += 1;
      if (run.latencies.length < 200_000) run.latencies.push(done - started);
      if (!ok) run.failures += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ...run, server: usage() };
}

function measurement(run: LoopRun, durationS: number, details: Record<string, unknown>): Measurement {
  const sorted = run.latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 100) / 100;
  return {
    rps: run.operations / durationS,
    p50: at(0.5),
    p99: at(0.99),
    operations: run.operations,
    durationS,
    cpuMsPerOp: run.operations > 0 ? run.server.cpuMs / run.operations : null,
    errors: { non2xx: 0, graphqlErrors: 0, mismatches: run.failures, connection: 0, timeouts: 0, total: run.failures },
    details: {
      server: { ...run.server, cpuCores: run.server.wallMs > 0 ? run.server.cpuMs / run.server.wallMs : 0 },
      ...details,
    },
  };
}

async function measureLoop(ctx: BenchContext, operation: () => Promise<boolean>, details: Record<string, unknown>) {
  const { config } = ctx;
  if (config.warmupS > 0) await loop(operation, config.connections, config.warmupS);
  const run = await loop(operation, config.connections, config.durationS);
  return measurement(run, config.durationS, { concurrency: config.connections, ...details });
}

const storeKind = () => (testConfig.REDIS_URL ? 'redis' : 'memory');

export const storeIncr: Scenario = {
  name: STORE_INCR,
  title: 'bare INCR loop on the shared store (the decision baseline)',
  needsPlatform: false,
  async run(ctx) {
    const prefix = testStorePrefix();
    if (testConfig.REDIS_URL) {
      // The store's own client settings: auto-pipelining, no offline queue.
      const redis = new Redis(testConfig.REDIS_URL, { enableAutoPipelining: true, enableOfflineQueue: true });
      ctx.onClose(async () => {
        await redis.del(`${prefix}incr`);
        await redis.quit();
      });
      return measureLoop(ctx, async () => (await redis.incr(`${prefix}incr`)) > 0, { store: 'redis' });
    }
    const store = await createStore({ prefix });
    ctx.onClose(() => store.close());
    return measureLoop(ctx, async () => (await store.incr('incr')) > 0, { store: 'memory' });
  },
};

export const authorize: Scenario = {
  name: 'authorize',
  title: 'entitlement decision: authorize(org, caller, service, units) through the store',
  relativeTo: STORE_INCR,
  needsPlatform: false,
  async run(ctx) {
    const store: Store = await createStore({ redisUrl: testConfig.REDIS_URL, prefix: testStorePrefix() });
    ctx.onClose(async () => {
      await store.flush();
      await store.close();
    });
    const organizationId = randomUUID();
    const now = Date.now();
    // Every service included, no quota reached, a rate limit no caller reaches: each decision allows.
    const services = Object.fromEntries(
      AI_SERVICES.map((s) => [
        s.slug,
        { requests: 2_000_000_000, units: 2_000_000_000, rateLimitPer15Min: 2_000_000_000 },
      ]),
    );
    await writeEntitlementRecord(
      store,
      organizationId,
      {
        revision: 1,
        status: 'active',
        periodStart: now - 1000,
        periodEnd: now + 86_400_000,
        validUntil: now + 86_400_000,
        apiCalls: null,
        services,
        limits: { seats: null, projects: null, storageBytes: null },
      },
      { services: {}, apiCalls: 0, rate: [] },
      now,
    );
    const decider = createEntitlementDecider({ store });
    const callers = Array.from({ length: 64 }, () => randomUUID());
    let i = 0;
    return measureLoop(
      ctx,
      async () => {
        i += 1;
        const decision = await decider.authorize({
          organizationId,
          callerId: callers[i % callers.length] as string,
          service: 'chat-builder',
          units: 10,
          invocationId: randomUUID(),
        });
        return decision.allowed;
      },
      { store: storeKind() },
    );
  },
};
