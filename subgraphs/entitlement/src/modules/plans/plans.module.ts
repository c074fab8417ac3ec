// The plan catalogue: public (pricing pages read it before sign-up); platform administrators edit it.
import { isPlatformAdmin, isPublic } from '@g3d/auth';
import type { Plan } from '@g3d/db';
import { defineModule, loadSdl } from '@g3d/kit';
import { AI_SERVICES } from '@g3d/manifest';

import type { EntitlementContext } from '../../context.ts';
import { planServices } from '../subscriptions/limits.ts';
import type { PlanInput } from './plan-input.ts';

const UNIT = new Map<string, string | null>(AI_SERVICES.map((s) => [s.slug, s.meteredUnit]));

export const plansModule = defineModule<EntitlementContext>({
  name: 'plans',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    Query: { plans: isPublic },
    Mutation: { upsertPlan: isPlatformAdmin },
    Plan: isPublic,
    PlanService: isPublic,
  },
  resolvers: {
    Query: { plans: (_p, _a, ctx) => ctx.services.repos.plans.list() },
    Mutation: {
      upsertPlan: (_p, args: { input: PlanInput }, ctx) => ctx.services.plans.upsert(args.input),
    },
    Plan: {
      __resolveReference: (ref: { id: string }, ctx: EntitlementContext) => ctx.plans.load(ref.id),
      storageBytes: (plan: Plan) => (plan.storageBytes === null ? null : plan.storageBytes.toString()),
      services: (plan: Plan) =>
        planServices(plan).map((s) => ({
          ...s,
          unit: UNIT.get(s.service) ?? null,
          units: UNIT.get(s.service) ? s.units : null,
        })),
    },
  },
});
