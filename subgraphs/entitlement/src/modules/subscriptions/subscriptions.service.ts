// Subscriptions: one per organization, created on the free plan when first needed. Every change runs in one
// transaction (the row locked, time's changes applied first: a period or trial that ended), increments the
// revision and publishes entitlement.subscription-changed with the state after it; once committed, the
// organization's record in the store is rewritten (onCommitted). Owners change the plan (upgrades now,
// downgrades at the renewal) and cancel; platform administrators assign any plan, set overrides and suspend.
import { subscriptionChanged } from '@g3d/contracts';
import type { PrismaClient, Tx } from '@g3d/db';
import { AppError, badUserInput, conflict } from '@g3d/errors';
import { publishEvent } from '@g3d/events';
import type { Logger } from '@g3d/kit';

import { FREE_PLAN_ID } from '../plans/catalogue.ts';
import type { PlansRepository } from '../plans/plans.repository.ts';
import { effectiveLimits, type Overrides } from './limits.ts';
import { addMonths, DAY_MS } from './periods.ts';
import { type ChangeKind, isUpgrade, needsRenewal, renewal, type SubscriptionStatus } from './renewal.ts';
import type { SubscriptionChange, SubscriptionsRepository, SubscriptionWithPlan } from './subscriptions.repository.ts';

export type BillingCycle = 'monthly' | 'yearly';

export interface SubscriptionsDeps {
  prisma: PrismaClient;
  repo: SubscriptionsRepository;
  plans: PlansRepository;
  /** The clock (epoch ms): tests move it to cross periods and trials. */
  now: () => number;
  logger: Logger;
}

/**
 * A change to apply to the locked, renewed subscription (announced as `kind`, default the operation's); null:
 * nothing to change.
 */
type Apply = (
  sub: SubscriptionWithPlan,
  at: Date,
  tx: Tx,
) => Promise<{ change: SubscriptionChange; kind?: ChangeKind } | null>;

export class SubscriptionsService {
  /** Called with the organizations whose subscription changed, after the commit (the store sync). */
  onCommitted: (organizationIds: string[]) => Promise<void> = async () => {};

  constructor(private readonly deps: SubscriptionsDeps) {}

  /** The subscription as of `at` (default now): created on the free plan if missing, renewed if time says so. */
  async current(organizationId: string, at = this.deps.now()): Promise<SubscriptionWithPlan> {
    const existing = await this.deps.repo.find(organizationId);
    if (existing && !needsRenewal(existing, new Date(at))) return existing;
    return this.change(organizationId, 'period-renewed', async () => null, at);
  }

  /** Owners: an upgrade applies now (with the plan's trial the first time), a downgrade at the renewal. */
  changePlan(organizationId: string, planId: string, cycle: BillingCycle | null) {
    return this.change(organizationId, 'plan-changed', async (sub, at, tx) => {
      const plan = await this.plan(planId, tx);
      const billingCycle = cycle ?? (sub.billingCycle as BillingCycle);
      const price = billingCycle === 'yearly' ? plan.priceYearlyCents : plan.priceMonthlyCents;
      if (price === null) {
        throw new AppError(
          'FORBIDDEN',
          `The ${plan.name} plan is arranged with sales: a platform administrator assigns it`,
          {
            reason: 'PLAN_NOT_SELF_SERVICE',
          },
        );
      }
      if (plan.id === sub.planId) {
        // The same plan: undo a scheduled downgrade or cancellation; a new cycle waits for the renewal.
        const cycleChange = billingCycle !== sub.billingCycle ? billingCycle : null;
        return { change: { pendingPlanId: null, cancelAtPeriodEnd: false, pendingBillingCycle: cycleChange } };
      }
      if (!isUpgrade(sub.plan, plan)) {
        return { change: { pendingPlanId: plan.id, pendingBillingCycle: cycle }, kind: 'downgrade-scheduled' };
      }
      const trial = plan.trialDays > 0 && !sub.trialUsed && sub.planId === FREE_PLAN_ID;
      return {
        change: {
          planId: plan.id,
          billingCycle,
          pendingPlanId: null,
          pendingBillingCycle: null,
          cancelAtPeriodEnd: false,
          status: trial ? 'trialing' : sub.status === 'trialing' ? 'active' : sub.status,
          ...(trial ? { trialEnd: new Date(at.getTime() + plan.trialDays * DAY_MS), trialUsed: true } : {}),
        },
      };
    });
  }

  /** Owners: a paid plan ends at the renewal; the organization returns to the free plan then. */
  cancel(organizationId: string) {
    return this.change(organizationId, 'cancel-scheduled', async (sub) => {
      if (sub.planId === FREE_PLAN_ID) throw conflict('The free plan has nothing to cancel');
      return { change: { cancelAtPeriodEnd: true, pendingPlanId: null } };
    });
  }

  /** Platform administrators: any plan, now; optionally a status or a trial of `trialDays`. */
  assign(
    organizationId: string,
    input: {
      planId: string;
      status?: SubscriptionStatus | null;
      trialDays?: number | null;
      cycle?: BillingCycle | null;
    },
  ) {
    if (input.trialDays != null && (!Number.isInteger(input.trialDays) || input.trialDays < 1 || input.trialDays > 365))
      throw badUserInput('trialDays must be between 1 and 365', 'trialDays');
    return this.change(organizationId, 'plan-changed', async (sub, at, tx) => {
      const plan = await this.plan(input.planId, tx);
      const trial = input.trialDays ?? null;
      return {
        change: {
          planId: plan.id,
          billingCycle: input.cycle ?? sub.billingCycle,
          pendingPlanId: null,
          pendingBillingCycle: null,
          cancelAtPeriodEnd: false,
          status: trial ? 'trialing' : (input.status ?? 'active'),
          trialEnd: trial ? new Date(at.getTime() + trial * DAY_MS) : null,
          ...(trial ? { trialUsed: true } : {}),
        },
      };
    });
  }

  /** Platform administrators: the organization's custom overrides (replacing the previous ones). */
  setOverrides(organizationId: string, overrides: Overrides) {
    return this.change(organizationId, 'overrides-changed', async () => ({ change: { overrides } }));
  }

  /** Platform administrators: every service refused (SUSPENDED) until lifted. */
  setSuspended(organizationId: string, suspended: boolean, reason: string | null) {
    return this.change(organizationId, 'suspension-changed', async () => ({
      change: { suspended, suspendedReason: suspended ? reason : null },
    }));
  }

  /** Billing (Stripe webhooks): a change computed from the current subscription, in the caller's transaction. */
  applyInTransaction(tx: Tx, organizationId: string, apply: Apply, kind: ChangeKind = 'status-changed') {
    return this.changeIn(tx, organizationId, kind, apply, new Date(this.deps.now()));
  }

  /** Renews the subscriptions whose period or trial ended (the background job); how many it renewed. */
  async renewDue(limit = 100): Promise<number> {
    const due = await this.deps.repo.due(new Date(this.deps.now()), limit);
    for (const organizationId of due) {
      await this.current(organizationId).catch((error: unknown) =>
        this.deps.logger.error({ err: error, organizationId }, 'subscription renewal failed'),
      );
    }
    return due.length;
  }

  /** A plan was edited: every organization on it gets a new revision and an event (in the edit's transaction). */
  async planEdited(tx: Tx, planId: string): Promise<string[]> {
    const organizationIds = await this.deps.repo.touchPlan(tx, planId);
    for (const organizationId of organizationIds) {
      const sub = await this.deps.repo.find(organizationId, tx);
      if (sub) await this.publish(tx, sub, 'plan-edited');
    }
    return organizationIds;
  }

  private async plan(planId: string, tx: Tx) {
    const plan = typeof planId === 'string' && planId.length <= 64 ? await this.deps.plans.find(planId, tx) : null;
    if (!plan) throw badUserInput('Unknown plan', 'planId');
    return plan;
  }

  private async change(organizationId: string, kind: ChangeKind, apply: Apply, atMs = this.deps.now()) {
    const at = new Date(atMs);
    const result = await this.deps.prisma.$transaction((tx) => this.changeIn(tx, organizationId, kind, apply, at));
    if (result.changed) await this.onCommitted([organizationId]);
    return result.subscription;
  }

  private async changeIn(tx: Tx, organizationId: string, kind: ChangeKind, apply: Apply, at: Date) {
    const created = await this.deps.repo.insertIfMissing(tx, {
      organizationId,
      planId: FREE_PLAN_ID,
      status: 'active',
      billingCycle: 'monthly',
      periodAnchor: at,
      currentPeriodStart: at,
      currentPeriodEnd: addMonths(at, 1),
    });
    let sub = (await this.deps.repo.lock(tx, organizationId)) as SubscriptionWithPlan;
    let announced: ChangeKind | null = created ? 'created' : null;
    const renewed = renewal(sub, at);
    if (renewed) {
      sub = await this.deps.repo.update(tx, organizationId, renewed.change);
      announced = renewed.kind;
    }
    const patch = await apply(sub, at, tx);
    if (patch) {
      sub = await this.deps.repo.update(tx, organizationId, patch.change);
      announced = patch.kind ?? kind;
    }
    if (announced) await this.publish(tx, sub, announced);
    return { subscription: sub, changed: announced !== null };
  }

  private async publish(tx: Tx, sub: SubscriptionWithPlan, change: ChangeKind) {
    const limits = effectiveLimits(sub.plan, sub);
    await publishEvent(tx, 'entitlement', subscriptionChanged, {
      organizationId: sub.organizationId,
      revision: sub.revision,
      change,
      planId: sub.planId,
      status: sub.status as SubscriptionStatus,
      suspended: sub.suspended,
      currentPeriodStart: sub.currentPeriodStart.toISOString(),
      currentPeriodEnd: sub.currentPeriodEnd.toISOString(),
      limits: {
        seats: limits.seats,
        projects: limits.projects,
        storageBytes: limits.storageBytes === null ? null : limits.storageBytes.toString(),
        apiCalls: limits.apiCalls,
      },
    });
  }
}
