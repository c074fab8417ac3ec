// The entitlement subgraph: plans (and later per-service access, rate limits, quotas, metering).
import { isPublic } from '@g3d/auth';
import type { Database, Plan } from '@g3d/db';
import {
  createSubgraph,
  type DataLoader,
  loadSdl,
  oneByKey,
  type SubgraphDefinition,
  type SubgraphDeps,
} from '@g3d/kit';

import { DEFAULT_PLANS } from './modules/plans/catalogue.ts';
import { PlansRepository } from './modules/plans/plans.repository.ts';

interface EntitlementContext {
  plans: DataLoader<string, Plan | null>;
  repo: PlansRepository;
}

export const entitlementTypeDefs = loadSdl(import.meta.url, './schema.graphql');

export const entitlementPermissions = {
  // The catalogue is public: pricing pages read it before sign-up.
  Query: { plans: isPublic, _service: isPublic, _entities: isPublic },
  Plan: isPublic,
  _Service: isPublic,
};

export function entitlementDefinition(db: Database): SubgraphDefinition<EntitlementContext> {
  const repo = new PlansRepository(db.prisma);
  return {
    name: 'entitlement',
    typeDefs: entitlementTypeDefs,
    permissions: entitlementPermissions,
    createContext: () => ({
      repo,
      plans: oneByKey(
        (ids) => repo.findByIds(ids),
        (p) => p.id,
      ),
    }),
    resolvers: {
      Query: { plans: (_p, _a, ctx) => ctx.repo.list() },
      Plan: {
        __resolveReference: (ref: { id: string }, ctx: EntitlementContext) => ctx.plans.load(ref.id),
        storageBytes: (plan: Plan) => (plan.storageBytes === null ? null : plan.storageBytes.toString()),
      },
    },
  };
}

export function createEntitlementService(deps: SubgraphDeps & { db: Database }) {
  return createSubgraph(entitlementDefinition(deps.db), deps);
}

export async function seedPlans(db: Database): Promise<number> {
  return new PlansRepository(db.prisma).insertMissing(DEFAULT_PLANS);
}
