// Platform administrators edit the catalogue. An edit reaches every organization on the plan at once: their
// subscriptions get a new revision and an event in the edit's transaction, then their records in the store are
// rewritten (the resync job finishes what a crash interrupts).
import type { Plan, PrismaClient } from '@g3d/db';

import type { SubscriptionsService } from '../subscriptions/subscriptions.service.ts';
import { planData, type PlanInput } from './plan-input.ts';
import type { PlansRepository } from './plans.repository.ts';

export class PlansService {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      plans: PlansRepository;
      subscriptions: SubscriptionsService;
      onCommitted: (organizationIds: string[]) => Promise<void>;
    },
  ) {}

  async upsert(input: PlanInput): Promise<Plan> {
    const existing = typeof input.id === 'string' ? await this.deps.plans.find(input.id.slice(0, 64)) : null;
    const all = existing ? [] : await this.deps.plans.list();
    const data = planData(input, existing?.sortOrder ?? Math.max(0, ...all.map((p) => p.sortOrder + 1)));
    const { plan, organizationIds } = await this.deps.prisma.$transaction(async (tx) => {
      const plan = await this.deps.plans.upsert(data, tx);
      return { plan, organizationIds: await this.deps.subscriptions.planEdited(tx, plan.id) };
    });
    await this.deps.onCommitted(organizationIds);
    return plan;
  }
}
