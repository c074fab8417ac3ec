// Entitlement's services without HTTP, as a wrapper's process meets them: a fresh database with the catalogue,
// a store (the test store, or one given), entitlement's refresh listener and usage consumer, and the decision
// library (decider, meter, gate) on the same clock. For the decision, metering and clock tests.
import { randomUUID } from 'node:crypto';

import type { Caller } from '@g3d/auth';
import { createDatabase, type Database } from '@g3d/db';
import {
  createEntitlementDecider,
  createInvocationGate,
  type EntitlementDecider,
  type InvocationGate,
  UsageMeter,
} from '@g3d/entitlement-client';
import { EventConsumer } from '@g3d/events';
import { createLogger } from '@g3d/kit';
import type { Store } from '@g3d/store';
import { createTestDatabase, createTestStore, type TestDatabase } from '@g3d/testkit';

import { createEntitlementServices, type EntitlementServices, seedPlans } from '../src/index.ts';

export interface Runtime {
  database: TestDatabase;
  db: Database;
  store: Store;
  services: EntitlementServices;
  decider: EntitlementDecider;
  meter: UsageMeter;
  gate: InvocationGate;
  /** Entitlement's consumer of usage events (not polling unless started). */
  consumer: EventConsumer;
  /** Handles every waiting usage event; the ledger's row count after. */
  settle(): Promise<number>;
  close(): Promise<void>;
}

export async function startRuntime(options: { store?: Store; now?: () => number } = {}): Promise<Runtime> {
  const database = await createTestDatabase();
  const db = createDatabase({ url: database.url, poolMax: database.kind === 'pglite' ? 1 : 6 });
  await seedPlans(db);
  const store = options.store ?? (await createTestStore());
  const logger = createLogger({ level: 'silent' });
  const now = options.now ?? Date.now;
  const services = createEntitlementServices({ db, store, logger, now });
  const listener = services.sync.listener();
  await listener.start();
  const consumer = new EventConsumer({
    db,
    consumer: 'entitlement',
    handlers: [services.usageHandler],
    logger,
    pollIntervalMs: 25,
  });
  const decider = createEntitlementDecider({ store, now, refreshTimeoutMs: 10_000 });
  const meter = new UsageMeter({ db });
  return {
    database,
    db,
    store,
    services,
    decider,
    meter,
    gate: createInvocationGate({ decider, meter }),
    consumer,
    async settle() {
      await meter.settled();
      while ((await consumer.drain()) > 0);
      return services.repos.usage.count();
    },
    async close() {
      await consumer.stop();
      await listener.stop();
      await db.close();
      await store.close();
      await database.drop();
    },
  };
}

/** A member of `organizationId` as the token would make them (scopes of their roles there). */
export function member(organizationId: string, scopes: string[] = [], userId = randomUUID()): Caller {
  return {
    kind: 'user',
    userId,
    sessionId: null,
    organizationId,
    roles: [],
    scopes,
    email: null,
    mfaSetupRequired: false,
  };
}

/** An organization on `planId` with the given service overrides (platform administrators' tools). */
export async function organizationOn(
  services: EntitlementServices,
  planId: string,
  overrides: Parameters<EntitlementServices['subscriptions']['setOverrides']>[1] = {},
): Promise<string> {
  const organizationId = randomUUID();
  await services.subscriptions.assign(organizationId, { planId });
  if (Object.keys(overrides).length) await services.subscriptions.setOverrides(organizationId, overrides);
  return organizationId;
}

/**
 * Waits, when the real clock is within `marginMs` of the end of a 15-minute rate window, until the next one has
 * begun: a burst of calls measured against a rate limit must fall in one window.
 */
export async function awayFromWindowEdge(marginMs = 15_000): Promise<void> {
  const window = 15 * 60_000;
  const left = window - (Date.now() % window);
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

/** Outcomes of settled invocations by error code (OK for answered ones). */
export function outcomes(results: PromiseSettledResult<unknown>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const code =
      r.status === 'fulfilled'
        ? 'OK'
        : String((r.reason as { extensions?: { code?: unknown } }).extensions?.code ?? (r.reason as Error).message);
    counts[code] = (counts[code] ?? 0) + 1;
  }
  return counts;
}
