// The store's copy of what each organization is entitled to (packages/entitlement-client record.ts: the AI
// services for the decisions, the plan limits organization enforces), kept by entitlement: written after every
// committed change, refilled when a reader finds it missing or stale (it asks on the store's refresh channel),
// and checked by a job against the revisions in PostgreSQL (a write lost to a crash between commit and store is
// repaired within a run). A refill brings the period's counters from the usage ledger — after handling the usage
// events still waiting for it — so a flushed store never resets a quota.
import {
  entitlementKeys,
  type EntitlementRecord,
  rateWindow,
  readEntitlementHeader,
  REFRESH_CHANNEL,
  writeEntitlementRecord,
} from '@g3d/entitlement-client';
import type { BackgroundJob, BackgroundTask, Logger } from '@g3d/kit';
import type { Store } from '@g3d/store';

import { effectiveLimits } from '../subscriptions/limits.ts';
import type { SubscriptionsRepository, SubscriptionWithPlan } from '../subscriptions/subscriptions.repository.ts';
import type { SubscriptionsService } from '../subscriptions/subscriptions.service.ts';
import type { UsageRepository } from '../usage/usage.repository.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The record a decision reads, from the subscription and its plan. */
export function recordOf(sub: SubscriptionWithPlan): EntitlementRecord {
  const limits = effectiveLimits(sub.plan, sub);
  const periodEnd = sub.currentPeriodEnd.getTime();
  const trialEnd = sub.status === 'trialing' && sub.trialEnd ? sub.trialEnd.getTime() : Infinity;
  return {
    revision: sub.revision,
    status: sub.suspended ? 'suspended' : (sub.status as EntitlementRecord['status']),
    periodStart: sub.currentPeriodStart.getTime(),
    periodEnd,
    validUntil: Math.min(periodEnd, trialEnd),
    apiCalls: limits.apiCalls,
    services: Object.fromEntries(
      limits.services
        .filter((s) => s.included)
        .map((s) => [s.service, { requests: s.requests, units: s.units, rateLimitPer15Min: s.rateLimitPer15Min }]),
    ),
    limits: {
      seats: limits.seats,
      projects: limits.projects,
      storageBytes: limits.storageBytes === null ? null : limits.storageBytes.toString(),
    },
  };
}

export interface SyncDeps {
  store: Store;
  repo: SubscriptionsRepository;
  subscriptions: SubscriptionsService;
  usage: UsageRepository;
  /** Handles the usage events waiting for entitlement (so the ledger holds every answered invocation). */
  drainUsage: () => Promise<unknown>;
  logger: Logger;
  now: () => number;
}

export class EntitlementSync {
  private unsubscribe: (() => Promise<void>) | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private lastResync: number;

  constructor(private readonly deps: SyncDeps) {
    this.lastResync = deps.now() - 3_600_000;
  }

  /** Writes the organization's record (and absent counters from the ledger); `drain` first for a refill. */
  async write(organizationId: string, options: { drain?: boolean; sub?: SubscriptionWithPlan } = {}): Promise<void> {
    if (options.drain) await this.deps.drainUsage();
    const sub = options.sub ?? (await this.deps.repo.find(organizationId));
    if (!sub) return;
    const at = this.deps.now();
    const window = rateWindow(at);
    const range = { start: new Date(window.start), end: new Date(window.end) };
    // A refill waits for usage batches being handled right now (the ledger lock), so its sums hold them too.
    const counters = options.drain
      ? await this.deps.usage.settledCounters(organizationId, sub.currentPeriodStart, range)
      : await this.deps.usage.counters(organizationId, sub.currentPeriodStart, range);
    await writeEntitlementRecord(this.deps.store, organizationId, recordOf(sub), counters, at);
  }

  /** After a commit: each organization's record, logged (the resync job repairs what fails). */
  async written(organizationIds: readonly string[]): Promise<void> {
    for (const organizationId of organizationIds) {
      await this.write(organizationId).catch((error: unknown) =>
        this.deps.logger.warn({ err: error, organizationId }, 'entitlement record not written; the resync job will'),
      );
    }
  }

  /** The record exists in the store (refilled, with the ledger's counters, when it does not). */
  async ensure(organizationId: string): Promise<void> {
    if (await readEntitlementHeader(this.deps.store, organizationId)) return;
    await this.refresh(organizationId, this.deps.now());
  }

  /** A decision found the record missing or stale at `at`: renew the subscription as of then and write it. */
  async refresh(organizationId: string, at: number): Promise<void> {
    const { refreshing } = entitlementKeys(organizationId);
    // One replica does it; the decider asks again if it does not see the record in time.
    if (!(await this.deps.store.setIfAbsent(refreshing, '1', { ttlMs: 5_000 }))) return;
    try {
      // The decider's clock (a new subscription starts then; a period it saw end rolls over), within a minute of ours.
      const now = this.deps.now();
      const sub = await this.deps.subscriptions.current(
        organizationId,
        Math.min(Math.max(at, now - 60_000), now + 60_000),
      );
      await this.write(organizationId, { drain: true, sub });
    } finally {
      await this.deps.store.del(refreshing);
    }
  }

  /** Listens on the refresh channel (every replica; the lock picks one per organization). */
  listener(): BackgroundTask {
    return {
      name: 'entitlement-refresh',
      start: async () => {
        this.unsubscribe = await this.deps.store.subscribe(REFRESH_CHANNEL, (message) => this.onRefresh(message));
      },
      stop: async () => {
        await this.unsubscribe?.();
        this.unsubscribe = null;
        await Promise.allSettled([...this.inFlight]);
      },
    };
  }

  private onRefresh(message: string): void {
    let request: { organizationId?: unknown; at?: unknown };
    try {
      request = JSON.parse(message) as typeof request;
    } catch {
      return;
    }
    const { organizationId, at } = request;
    if (typeof organizationId !== 'string' || !UUID.test(organizationId) || typeof at !== 'number') return;
    const run = this.refresh(organizationId.toLowerCase(), at)
      .catch((error: unknown) => this.deps.logger.error({ err: error, organizationId }, 'entitlement refresh failed'))
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  /** Rewrites records older than PostgreSQL's revision (or missing) for subscriptions changed lately. */
  resyncJob(intervalMs = 30_000): BackgroundJob {
    return {
      name: 'entitlement-resync',
      intervalMs,
      run: async () => {
        const started = this.deps.now();
        const changed = await this.deps.repo.changedSince(new Date(this.lastResync - 2 * intervalMs), 1_000);
        for (const { organizationId, revision } of changed) {
          const stored = await readEntitlementHeader(this.deps.store, organizationId);
          if (!stored || stored.revision < revision) await this.write(organizationId, { drain: stored === null });
        }
        this.lastResync = started;
      },
    };
  }

  /** Renews subscriptions whose period or trial ended, even without traffic (events, thresholds reset). */
  renewalJob(intervalMs = 30_000): BackgroundJob {
    return {
      name: 'entitlement-renewal',
      intervalMs,
      run: async () => {
        // Bounded: renewals that keep failing (logged) must not keep the job busy forever.
        for (let round = 0; round < 20 && (await this.deps.subscriptions.renewDue(100)) === 100; round += 1);
      },
    };
  }
}
