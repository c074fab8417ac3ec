import type { Plan, PrismaClient } from '@g3d/db';

export class PlansRepository {
  constructor(private readonly prisma: PrismaClient) {}

  list(): Promise<Plan[]> {
    return this.prisma.plan.findMany({ orderBy: { sortOrder: 'asc' } });
  }

  findByIds(ids: readonly string[]): Promise<Plan[]> {
    return this.prisma.plan.findMany({ where: { id: { in: [...ids] } } });
  }

  /** Inserts the catalogue entries that do not exist yet; never overwrites an operator's edits. */
  async insertMissing(plans: Omit<Plan, 'createdAt'>[]): Promise<number> {
    const result = await this.prisma.plan.createMany({ data: plans, skipDuplicates: true });
    return result.count;
  }
}
