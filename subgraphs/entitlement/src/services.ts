// Entitlement's composition root: the repositories and services one process shares across requests, built once
// from the database, the shared store and the clock (tests pass their own to cross periods and trials).
import type { Database } from '@g3d/db';
import { EventConsumer, type EventHandler } from '@g3d/events';
import type { Logger } from '@g3d/kit';
import type { Store } from '@g3d/store';

import { AccessService } from './modules/access/access.service.ts';
import { BillingService } from './modules/billing/billing.service.ts';
import { PlansRepository } from './modules/plans/plans.repository.ts';
import { PlansService } from './modules/plans/plans.service.ts';
import { SubscriptionsRepository } from './modules/subscriptions/subscriptions.repository.ts';
import { SubscriptionsService } from './modules/subscriptions/subscriptions.service.ts';
import { EntitlementSync } from './modules/sync/entitlement-sync.ts';
import { usageRecordedHandler } from './modules/usage/usage.consumer.ts';
import { UsageRepository } from './modules/usage/usage.repository.ts';
import { UsageService } from './modules/usage/usage.service.ts';

export interface EntitlementServicesOptions {
  db: Database;
  store: Store;
  logger: Logger;
  /** The clock (epoch ms); default Date.now. */
  now?: () => number;
}

export interface EntitlementServices {
  repos: { plans: PlansRepository; subscriptions: SubscriptionsRepository; usage: UsageRepository };
  plans: PlansService;
  subscriptions: SubscriptionsService;
  access: AccessService;
  usage: UsageService;
  billing: BillingService;
  /** The store's copy of each organization's entitlements. */
  sync: EntitlementSync;
  /** The consumer of entitlement.usage-recorded (into the ledger). */
  usageHandler: EventHandler;
  now: () => number;
}

export function createEntitlementServices(options: EntitlementServicesOptions): EntitlementServices {
  const { db, store, logger } = options;
  const now = options.now ?? Date.now;
  const repos = {
    plans: new PlansRepository(db.prisma),
    subscriptions: new SubscriptionsRepository(db.prisma),
    usage: new UsageRepository(db.prisma),
  };
  const subscriptions = new SubscriptionsService({
    prisma: db.prisma,
    repo: repos.subscriptions,
    plans: repos.plans,
    now,
    logger,
  });
  const usageHandler = usageRecordedHandler(repos.usage);
  // The same handler the kit's consumer runs: a refill handles what waits for it before summing the ledger.
  const pending = new EventConsumer({ db, consumer: 'entitlement', handlers: [usageHandler], logger });
  const sync = new EntitlementSync({
    store,
    repo: repos.subscriptions,
    subscriptions,
    usage: repos.usage,
    drainUsage: () => pending.drain(10_000),
    logger,
    now,
  });
  const written = (organizationIds: string[]) => sync.written(organizationIds);
  subscriptions.onCommitted = written;
  return {
    repos,
    subscriptions,
    sync,
    plans: new PlansService({ prisma: db.prisma, plans: repos.plans, subscriptions, onCommitted: written }),
    access: new AccessService({ store, subscriptions, sync, now }),
    usage: new UsageService(repos.usage, subscriptions, now),
    billing: new BillingService({
      prisma: db.prisma,
      subscriptions,
      repo: repos.subscriptions,
      plans: repos.plans,
      onCommitted: written,
      logger,
    }),
    usageHandler,
    now,
  };
}
