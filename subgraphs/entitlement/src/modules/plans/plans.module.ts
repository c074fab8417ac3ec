// The plan catalogue: public, pricing pages read it before sign-up.
import { isPublic } from '@g3d/auth';
import type { Plan } from '@g3d/db';
import { defineModule, loadSdl } from '@g3d/kit';

import type { EntitlementContext } from '../../context.ts';

export const plansModule = defineModule<EntitlementContext>({
  name: 'plans',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    Query: { plans: isPublic },
    Plan: isPublic,
  },
  resolvers: {
    Query: { plans: (_p, _a, ctx) => ctx.services.plans.list() },
    Plan: {
      __resolveReference: (ref: { id: string }, ctx: EntitlementContext) => ctx.plans.load(ref.id),
      storageBytes: (plan: Plan) => (plan.storageBytes === null ? null : plan.storageBytes.toString()),
    },
  },
});
