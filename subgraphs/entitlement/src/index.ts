// The entitlement subgraph: plans, subscriptions (per organization), what each organization and caller may use,
// usage reports from the ledger, Stripe webhooks. It keeps each organization's entitlements in the shared store
// for the decision the AI wrappers take (packages/entitlement-client) and consumes their usage events into the
// ledger. Wiring only: each module owns its SDL, rules and resolvers.
import type { Database } from '@g3d/db';
import {
  baseModule,
  createSubgraph,
  defineService,
  loadSdl,
  subgraphDeps,
  type SubgraphSchemaDefinition,
} from '@g3d/kit';

import { entitlementConfig } from './config.ts';
import { createEntitlementContext, type EntitlementContext } from './context.ts';
import { accessModule } from './modules/access/access.module.ts';
import { stripeWebhookRoute } from './modules/billing/stripe-webhook.ts';
import { DEFAULT_PLANS } from './modules/plans/catalogue.ts';
import { plansModule } from './modules/plans/plans.module.ts';
import { PlansRepository } from './modules/plans/plans.repository.ts';
import { subscriptionsModule } from './modules/subscriptions/subscriptions.module.ts';
import { usageModule } from './modules/usage/usage.module.ts';
import { createEntitlementServices } from './services.ts';

const base = baseModule(loadSdl(import.meta.url, './schema.graphql'));

export const entitlementSchema: SubgraphSchemaDefinition<EntitlementContext> = {
  name: 'entitlement',
  modules: [base, plansModule, subscriptionsModule, accessModule, usageModule],
};

export { type EntitlementConfig, entitlementConfig } from './config.ts';
export { createEntitlementServices, type EntitlementServices } from './services.ts';

export const service = defineService({
  config: entitlementConfig,
  schema: () => entitlementSchema,
  build(context) {
    const logger = context.logger.child({ service: 'entitlement' });
    const services = createEntitlementServices({ db: context.database(), store: context.store, logger });
    return createSubgraph(
      {
        ...entitlementSchema,
        createContext: (request) => createEntitlementContext(request, services),
        routes: stripeWebhookRoute({ secret: context.config.STRIPE_WEBHOOK_SECRET, billing: services.billing, logger }),
        consumers: [services.usageHandler],
        background: [services.sync.listener()],
        jobs: [services.sync.resyncJob(), services.sync.renewalJob()],
      },
      subgraphDeps(context, { database: true }),
    );
  },
});

/** Inserts the catalogue's plans that do not exist yet (an operator's edits are kept). */
export async function seedPlans(db: Database): Promise<number> {
  return new PlansRepository(db.prisma).insertMissing(DEFAULT_PLANS);
}
