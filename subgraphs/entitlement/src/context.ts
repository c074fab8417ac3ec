// Entitlement's per-request context: the process-wide services and this request's loaders (one read per
// organization and request, whatever the number of fields asking).
import type { Plan } from '@g3d/db';
import { type BaseContext, type DataLoader, oneByKey } from '@g3d/kit';

import type { EntitlementsView } from './modules/access/access.service.ts';
import type { SubscriptionWithPlan } from './modules/subscriptions/subscriptions.repository.ts';
import type { EntitlementServices } from './services.ts';

export interface EntitlementContext extends BaseContext {
  services: EntitlementServices;
  plans: DataLoader<string, Plan | null>;
  /** The organization's subscription now (created on the free plan when missing). */
  subscription(organizationId: string): Promise<SubscriptionWithPlan>;
  entitlements(organizationId: string): Promise<EntitlementsView>;
}

function memo<T>(load: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (key) => {
    let value = cache.get(key);
    if (!value) cache.set(key, (value = load(key)));
    return value;
  };
}

export function createEntitlementContext(base: BaseContext, services: EntitlementServices): EntitlementContext {
  return {
    ...base,
    services,
    plans: oneByKey(
      (ids) => services.repos.plans.findByIds(ids),
      (p) => p.id,
    ),
    subscription: memo((id) => services.subscriptions.current(id)),
    entitlements: memo((id) => services.access.entitlements(id)),
  };
}
