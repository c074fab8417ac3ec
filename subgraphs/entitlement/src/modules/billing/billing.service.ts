// Stripe webhooks, verified by the route (stripe-webhook.ts), applied here once per Stripe event id: the event's
// id is recorded in the transaction that applies it, so a replay (Stripe retries, an attacker resending a captured
// request) changes nothing. Stripe's ids are stored on the subscription; its status becomes ours; a price known
// to a plan (stripePriceMonthly / stripePriceYearly) sets the plan. A deleted (or canceled) Stripe subscription
// returns the organization to the free plan.
import type { PrismaClient, Tx } from '@g3d/db';
import type { Logger } from '@g3d/kit';
import { z } from 'zod';

import { FREE_PLAN_ID } from '../plans/catalogue.ts';
import type { PlansRepository } from '../plans/plans.repository.ts';
import type { SubscriptionStatus } from '../subscriptions/renewal.ts';
import type { SubscriptionChange, SubscriptionsRepository } from '../subscriptions/subscriptions.repository.ts';
import type { SubscriptionsService } from '../subscriptions/subscriptions.service.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const id = z.string().max(255);
const idOf = z.union([id, z.object({ id })]).transform((v) => (typeof v === 'string' ? v : v.id));

/** The fields of Stripe objects we read (anything else is ignored). */
const stripeObject = z.object({
  id: id.optional(),
  object: z.string().optional(),
  customer: idOf.nullish(),
  subscription: idOf.nullish(),
  status: z.string().max(40).optional(),
  client_reference_id: z.string().max(255).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  cancel_at_period_end: z.boolean().optional(),
  trial_end: z.number().int().nullish(),
  items: z.object({ data: z.array(z.object({ price: z.object({ id }).optional() })) }).optional(),
});
type StripeObject = z.infer<typeof stripeObject>;

export interface StripeEventLike {
  id: string;
  type: string;
  data: { object: unknown };
}

/** Stripe's subscription statuses in ours; null: back to the free plan. */
const STATUS: Record<string, SubscriptionStatus | null> = {
  active: 'active',
  trialing: 'trialing',
  past_due: 'past_due',
  unpaid: 'inactive',
  incomplete: 'inactive',
  incomplete_expired: 'inactive',
  paused: 'inactive',
  canceled: null,
};

export type WebhookOutcome = 'applied' | 'ignored' | 'duplicate';

export class BillingService {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      subscriptions: SubscriptionsService;
      repo: SubscriptionsRepository;
      plans: PlansRepository;
      onCommitted: (organizationIds: string[]) => Promise<void>;
      logger: Logger;
    },
  ) {}

  async handle(event: StripeEventLike): Promise<WebhookOutcome> {
    const parsed = stripeObject.safeParse(event.data.object);
    const result = await this.deps.prisma.$transaction(async (tx) => {
      const first = await tx.stripeEvent.createMany({
        data: [{ id: event.id, type: event.type.slice(0, 100), outcome: 'ignored' }],
        skipDuplicates: true,
      });
      if (first.count === 0) return { outcome: 'duplicate' as const, organizationId: null };
      const organizationId = parsed.success ? await this.apply(tx, event.type, parsed.data) : null;
      if (organizationId) {
        await tx.stripeEvent.update({ where: { id: event.id }, data: { outcome: 'applied', organizationId } });
      }
      return { outcome: organizationId ? ('applied' as const) : ('ignored' as const), organizationId };
    });
    if (result.organizationId) await this.deps.onCommitted([result.organizationId]);
    this.deps.logger.info({ stripeEvent: event.id, type: event.type, outcome: result.outcome }, 'stripe webhook');
    return result.outcome;
  }

  /** Applies one event in `tx`; the organization it changed, or null when it concerns none we know. */
  private async apply(tx: Tx, type: string, object: StripeObject): Promise<string | null> {
    const subscriptionId = object.object === 'subscription' ? (object.id ?? null) : (object.subscription ?? null);
    const customerId = object.customer ?? null;
    const organizationId = await this.organizationOf(tx, object, subscriptionId, customerId);
    if (!organizationId) return null;
    const ids = {
      ...(customerId ? { stripeCustomerId: customerId } : {}),
      ...(subscriptionId ? { stripeSubscriptionId: subscriptionId } : {}),
    };
    let change: SubscriptionChange | null = null;
    if (type === 'checkout.session.completed') change = ids;
    else if (type === 'customer.subscription.deleted')
      change = { ...ids, ...this.backToFree(), stripeSubscriptionId: null };
    else if (type === 'customer.subscription.created' || type === 'customer.subscription.updated')
      change = await this.fromSubscription(tx, object, ids);
    else if (type === 'invoice.payment_failed') change = { ...ids, status: 'past_due' };
    else if (type === 'invoice.paid' || type === 'invoice.payment_succeeded') change = { ...ids, status: 'active' };
    if (!change) return null;
    const applied = change;
    await this.deps.subscriptions.applyInTransaction(tx, organizationId, async () => ({ change: applied }));
    return organizationId;
  }

  private async fromSubscription(tx: Tx, object: StripeObject, ids: SubscriptionChange): Promise<SubscriptionChange> {
    const status = object.status !== undefined ? STATUS[object.status] : undefined;
    if (status === null) return { ...ids, ...this.backToFree(), stripeSubscriptionId: null };
    const priceId = object.items?.data[0]?.price?.id;
    const plan = priceId ? await this.deps.plans.findByStripePrice(priceId, tx) : null;
    return {
      ...ids,
      ...(status ? { status } : {}),
      ...(plan ? { planId: plan.id, billingCycle: plan.stripePriceYearly === priceId ? 'yearly' : 'monthly' } : {}),
      ...(object.cancel_at_period_end !== undefined ? { cancelAtPeriodEnd: object.cancel_at_period_end } : {}),
      ...(object.trial_end ? { trialEnd: new Date(object.trial_end * 1000) } : {}),
    };
  }

  private backToFree(): SubscriptionChange {
    return { planId: FREE_PLAN_ID, status: 'active', cancelAtPeriodEnd: false, pendingPlanId: null, trialEnd: null };
  }

  /** The organization: our id in the metadata or client_reference_id, else the subscription holding Stripe's ids. */
  private async organizationOf(tx: Tx, object: StripeObject, subscriptionId: string | null, customerId: string | null) {
    const named = object.metadata?.organizationId ?? object.client_reference_id ?? null;
    if (named && UUID.test(named)) return named.toLowerCase();
    const sub = await this.deps.repo.findByStripe({ subscriptionId, customerId }, tx);
    return sub?.organizationId ?? null;
  }
}
