// Entitlement's per-request context: the process-wide services and this request's DataLoaders.
import type { Database, Plan } from '@g3d/db';
import { type BaseContext, type DataLoader, oneByKey } from '@g3d/kit';

import { PlansRepository } from './modules/plans/plans.repository.ts';

export interface EntitlementServices {
  plans: PlansRepository;
}

export interface EntitlementContext extends BaseContext {
  services: EntitlementServices;
  plans: DataLoader<string, Plan | null>;
}

export function createEntitlementServices(db: Database): EntitlementServices {
  return { plans: new PlansRepository(db.prisma) };
}

export function createEntitlementContext(base: BaseContext, services: EntitlementServices): EntitlementContext {
  return {
    ...base,
    services,
    plans: oneByKey(
      (ids) => services.plans.findByIds(ids),
      (p) => p.id,
    ),
  };
}
