// The entitlement subgraph: plans (later per-service access, rate limits, quotas and metering). Wiring only:
// each module owns its SDL, rules and resolvers.
import type { Database } from '@g3d/db';
import { baseModule, createSubgraph, defineService, loadSdl, subgraphDeps } from '@g3d/kit';

import { createEntitlementContext, createEntitlementServices } from './context.ts';
import { DEFAULT_PLANS } from './modules/plans/catalogue.ts';
import { plansModule } from './modules/plans/plans.module.ts';
import { PlansRepository } from './modules/plans/plans.repository.ts';

const base = baseModule(loadSdl(import.meta.url, './schema.graphql'));

export const entitlementSchema = { name: 'entitlement', modules: [base, plansModule] };

export const service = defineService({
  schema: () => entitlementSchema,
  build(context) {
    const deps = subgraphDeps(context, { database: true });
    const services = createEntitlementServices(context.database());
    return createSubgraph(
      { ...entitlementSchema, createContext: (request) => createEntitlementContext(request, services) },
      deps,
    );
  },
});

export async function seedPlans(db: Database): Promise<number> {
  return new PlansRepository(db.prisma).insertMissing(DEFAULT_PLANS);
}
