// Identity asks which organizations users belong to, with which roles and MFA policy: when it issues tokens,
// and when an organization administrator reads members' private fields. The contract admits identity only and
// validates the body (at most MAX_MEMBERSHIP_LOOKUP user ids).
import { membershipsContract } from '@g3d/contracts';
import { type InternalRoute, internalRoute } from '@g3d/kit';

import type { MembershipsRepository } from './memberships.repository.ts';

export function membershipsRoute(repo: MembershipsRepository): InternalRoute {
  return internalRoute(membershipsContract, async ({ userIds }) => ({
    memberships: await repo.membershipsForTokens(userIds),
  }));
}
