import type { Db, Plan, Prisma, PrismaClient } from '@g3d/db';

export type PlanData = Omit<Plan, 'createdAt' | 'updatedAt' | 'serviceLimits'> & {
  serviceLimits: Prisma.InputJsonValue;
};

export class PlansRepository {
  constructor(private readonly prisma: PrismaClient) {}

  list(): Promise<Plan[]> {
    return this.prisma.plan.findMany({ orderBy: [{ sortOrder: 'asc' }, { id: 'asc' }] });
  }

  find(id: string, db: Db = this.prisma): Promise<Plan | null> {
    return db.plan.findUnique({ where: { id } });
  }

  findByIds(ids: readonly string[]): Promise<Plan[]> {
    return this.prisma.plan.findMany({ where: { id: { in: [...ids] } } });
  }

  /** The plan whose Stripe price this is (monthly or yearly). */
  findByStripePrice(priceId: string, db: Db = this.prisma): Promise<Plan | null> {
    return db.plan.findFirst({ where: { OR: [{ stripePriceMonthly: priceId }, { stripePriceYearly: priceId }] } });
  }

  upsert(plan: PlanData, db: Db = this.prisma): Promise<Plan> {
    const { id, ...data } = plan;
    return db.plan.upsert({ where: { id }, create: plan, update: data });
  }

  /** Inserts the catalogue entries that do not exist yet; never overwrites an operator's edits. */
  async insertMissing(plans: PlanData[]): Promise<number> {
    const result = await this.prisma.plan.createMany({ data: plans, skipDuplicates: true });
    return result.count;
  }
}
