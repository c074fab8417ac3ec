import { type Db, type Plan, Prisma, type PrismaClient, type Subscription, type Tx } from '@g3d/db';

export type SubscriptionWithPlan = Subscription & { plan: Plan };

/** The columns a change may set (revision and timestamps are the repository's). */
export type SubscriptionChange = Partial<
  Omit<Subscription, 'organizationId' | 'revision' | 'createdAt' | 'updatedAt' | 'overrides'>
> & { overrides?: Prisma.InputJsonValue };

export class SubscriptionsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  find(organizationId: string, db: Db = this.prisma): Promise<SubscriptionWithPlan | null> {
    return db.subscription.findUnique({ where: { organizationId }, include: { plan: true } });
  }

  findMany(organizationIds: readonly string[]): Promise<SubscriptionWithPlan[]> {
    return this.prisma.subscription.findMany({
      where: { organizationId: { in: [...organizationIds] } },
      include: { plan: true },
    });
  }

  findByStripe(ids: { subscriptionId?: string | null; customerId?: string | null }, db: Db = this.prisma) {
    const or: Prisma.SubscriptionWhereInput[] = [];
    if (ids.subscriptionId) or.push({ stripeSubscriptionId: ids.subscriptionId });
    if (ids.customerId) or.push({ stripeCustomerId: ids.customerId });
    if (!or.length) return Promise.resolve(null);
    return db.subscription.findFirst({ where: { OR: or }, include: { plan: true } });
  }

  /** Creates the subscription when the organization has none; false when one existed (or a concurrent insert won). */
  async insertIfMissing(tx: Tx, data: Prisma.SubscriptionUncheckedCreateInput): Promise<boolean> {
    const result = await tx.subscription.createMany({ data: [data], skipDuplicates: true });
    return result.count === 1;
  }

  /** Locks the organization's row for the rest of the transaction (changes of one organization in turn). */
  async lock(tx: Tx, organizationId: string): Promise<SubscriptionWithPlan | null> {
    await tx.$queryRaw(Prisma.sql`
      SELECT 1 FROM "entitlement"."subscriptions" WHERE "organization_id" = ${organizationId}::uuid FOR UPDATE`);
    return this.find(organizationId, tx);
  }

  /** Applies a change and increments the revision (the store keeps the newest revision's record). */
  update(tx: Tx, organizationId: string, change: SubscriptionChange): Promise<SubscriptionWithPlan> {
    return tx.subscription.update({
      where: { organizationId },
      data: { ...change, revision: { increment: 1 } },
      include: { plan: true },
    });
  }

  /** Organizations whose period or trial has ended at `at` (the renewal job), oldest first. */
  async due(at: Date, limit: number): Promise<string[]> {
    const rows = await this.prisma.subscription.findMany({
      where: { OR: [{ currentPeriodEnd: { lte: at } }, { status: 'trialing', trialEnd: { lte: at } }] },
      select: { organizationId: true },
      orderBy: { currentPeriodEnd: 'asc' },
      take: limit,
    });
    return rows.map((r) => r.organizationId);
  }

  /** Subscriptions changed since `since` with their revision (the store resync job). */
  changedSince(since: Date, limit: number): Promise<{ organizationId: string; revision: number }[]> {
    return this.prisma.subscription.findMany({
      where: { updatedAt: { gte: since } },
      select: { organizationId: true, revision: true },
      orderBy: { updatedAt: 'asc' },
      take: limit,
    });
  }

  /** Every subscription on a plan gets a new revision (the plan was edited); their organization ids. */
  async touchPlan(tx: Tx, planId: string): Promise<string[]> {
    const rows = await tx.$queryRaw<{ organization_id: string }[]>(Prisma.sql`
      UPDATE "entitlement"."subscriptions" SET "revision" = "revision" + 1, "updated_at" = now()
      WHERE "plan_id" = ${planId} RETURNING "organization_id"`);
    return rows.map((r) => r.organization_id);
  }
}
