// Subscriptions: Organization.subscription for members; owners change the plan and cancel; platform
// administrators assign plans, set an organization's overrides and suspend its services.
import { isAuthenticated, isPlatformAdmin } from '@g3d/auth';
import { badUserInput } from '@g3d/errors';
import { cleanText, defineModule, isUuid, loadSdl } from '@g3d/kit';

import type { EntitlementContext } from '../../context.ts';
import { billingReaderOfSubscription, memberOfParent, ownerOfArgument } from '../access/rules.ts';
import { overridesFrom, type OverridesInput } from './overrides-input.ts';
import { periodContaining, renewsAt } from './periods.ts';
import type { SubscriptionStatus } from './renewal.ts';
import type { SubscriptionWithPlan } from './subscriptions.repository.ts';
import type { BillingCycle } from './subscriptions.service.ts';

type Cycle = 'MONTHLY' | 'YEARLY';
const cycle = (value: Cycle | null | undefined): BillingCycle | null =>
  value === 'YEARLY' ? 'yearly' : value === 'MONTHLY' ? 'monthly' : null;
const upper = (value: string | null) => (value === null ? null : value.toUpperCase());

/** Organization ids from clients are checked before they reach a uuid column. */
export function organizationId(value: string): string {
  if (!isUuid(value)) throw badUserInput('Invalid organization id', 'organizationId');
  return value.toLowerCase();
}

type OrgArgs = { organizationId: string };

export const subscriptionsModule = defineModule<EntitlementContext>({
  name: 'subscriptions',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    Organization: { id: isAuthenticated, subscription: memberOfParent },
    PlanSubscription: {
      '*': isAuthenticated,
      stripeCustomerId: billingReaderOfSubscription,
      stripeSubscriptionId: billingReaderOfSubscription,
    },
    Mutation: {
      changePlan: ownerOfArgument,
      cancelSubscription: ownerOfArgument,
      assignPlan: isPlatformAdmin,
      setEntitlementOverrides: isPlatformAdmin,
      setServicesSuspended: isPlatformAdmin,
    },
  },
  resolvers: {
    Organization: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      subscription: (org: { id: string }, _a, ctx) => (isUuid(org.id) ? ctx.subscription(org.id.toLowerCase()) : null),
    },
    PlanSubscription: {
      status: (s: SubscriptionWithPlan) => upper(s.status),
      billingCycle: (s: SubscriptionWithPlan) => upper(s.billingCycle),
      pendingBillingCycle: (s: SubscriptionWithPlan) => upper(s.pendingBillingCycle),
      pendingPlan: (s: SubscriptionWithPlan, _a, ctx) => (s.pendingPlanId ? ctx.plans.load(s.pendingPlanId) : null),
      renewsAt: (s: SubscriptionWithPlan) =>
        renewsAt(s.periodAnchor, periodContaining(s.periodAnchor, s.currentPeriodStart).index, s.billingCycle),
    },
    Mutation: {
      changePlan: (_p, args: OrgArgs & { planId: string; billingCycle?: Cycle | null }, ctx) =>
        ctx.services.subscriptions.changePlan(
          organizationId(args.organizationId),
          args.planId,
          cycle(args.billingCycle),
        ),
      cancelSubscription: (_p, args: OrgArgs, ctx) =>
        ctx.services.subscriptions.cancel(organizationId(args.organizationId)),
      assignPlan: (
        _p,
        args: OrgArgs & {
          planId: string;
          status?: string | null;
          trialDays?: number | null;
          billingCycle?: Cycle | null;
        },
        ctx,
      ) =>
        ctx.services.subscriptions.assign(organizationId(args.organizationId), {
          planId: args.planId,
          status: (args.status?.toLowerCase() ?? null) as SubscriptionStatus | null,
          trialDays: args.trialDays ?? null,
          cycle: cycle(args.billingCycle),
        }),
      setEntitlementOverrides: async (_p, args: OrgArgs & { input: OverridesInput }, ctx) => {
        const id = organizationId(args.organizationId);
        await ctx.services.subscriptions.setOverrides(id, overridesFrom(args.input));
        return ctx.services.access.entitlements(id);
      },
      setServicesSuspended: (_p, args: OrgArgs & { suspended: boolean; reason?: string | null }, ctx) =>
        ctx.services.subscriptions.setSuspended(
          organizationId(args.organizationId),
          args.suspended,
          args.reason == null ? null : cleanText(args.reason, 'reason', 500),
        ),
    },
  },
});
