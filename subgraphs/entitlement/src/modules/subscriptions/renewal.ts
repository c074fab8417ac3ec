// How a subscription moves with time: a trial that ends (a Stripe-backed one becomes active; otherwise the
// organization returns to the free plan) and periods that end (the next monthly slice; at a renewal a scheduled
// downgrade or cycle change applies, and a cancelled, inactive or cancelling subscription returns to free).
import type { Plan, Subscription } from '@g3d/db';

import { FREE_PLAN_ID } from '../plans/catalogue.ts';
import { periodContaining, renewsAt } from './periods.ts';
import type { SubscriptionChange } from './subscriptions.repository.ts';

export type ChangeKind =
  | 'created'
  | 'plan-changed'
  | 'downgrade-scheduled'
  | 'cancel-scheduled'
  | 'status-changed'
  | 'period-renewed'
  | 'trial-ended'
  | 'overrides-changed'
  | 'suspension-changed'
  | 'plan-edited';

export const SUBSCRIPTION_STATUSES = ['trialing', 'active', 'past_due', 'cancelled', 'inactive'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

const backToFree: SubscriptionChange = {
  planId: FREE_PLAN_ID,
  status: 'active',
  cancelAtPeriodEnd: false,
  pendingPlanId: null,
  pendingBillingCycle: null,
  billingCycle: 'monthly',
};

export const needsRenewal = (sub: Subscription, at: Date) =>
  sub.currentPeriodEnd <= at || (sub.status === 'trialing' && sub.trialEnd !== null && sub.trialEnd <= at);

/** What time changed about the subscription at `at`, or null when nothing did. */
export function renewal(sub: Subscription, at: Date): { change: SubscriptionChange; kind: ChangeKind } | null {
  let change: SubscriptionChange = {};
  let kind: ChangeKind | null = null;
  if (sub.status === 'trialing' && sub.trialEnd && sub.trialEnd <= at) {
    kind = 'trial-ended';
    change = sub.stripeSubscriptionId ? { status: 'active' } : { ...backToFree };
  }
  if (sub.currentPeriodEnd <= at) {
    kind ??= 'period-renewed';
    const current = periodContaining(sub.periodAnchor, sub.currentPeriodStart);
    if (renewsAt(sub.periodAnchor, current.index, sub.billingCycle) <= at) {
      if (sub.cancelAtPeriodEnd || sub.status === 'cancelled' || sub.status === 'inactive') {
        change = { ...change, ...backToFree };
      } else {
        if (sub.pendingPlanId) change = { ...change, planId: sub.pendingPlanId, pendingPlanId: null };
        if (sub.pendingBillingCycle)
          change = { ...change, billingCycle: sub.pendingBillingCycle, pendingBillingCycle: null };
      }
    }
    const next = periodContaining(sub.periodAnchor, at);
    change = { ...change, currentPeriodStart: next.start, currentPeriodEnd: next.end };
  }
  return kind ? { change, kind } : null;
}

/** Plans are ranked by their catalogue order: a higher one is an upgrade. */
export const isUpgrade = (from: Pick<Plan, 'sortOrder'>, to: Pick<Plan, 'sortOrder'>) => to.sortOrder > from.sortOrder;
