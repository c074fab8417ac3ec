// Every change to who belongs to an organization, with which roles, is announced as a platform event written in
// the transaction of the change (packages/events: a transactional outbox), so consumers never miss one.
import { membershipChanged } from '@g3d/contracts';
import type { Tx } from '@g3d/db';
import { eventPublisher } from '@g3d/events';
import type { z } from 'zod';

export type MembershipChange = z.input<typeof membershipChanged.payload>['change'];

const publisher = eventPublisher('organization');

/** Publishes a membership change inside `tx` (roles: the new roles, null when the membership ended). */
export async function publishMembershipChange(
  tx: Tx,
  change: { organizationId: string; userId: string; change: MembershipChange; roles: readonly string[] | null },
): Promise<void> {
  await publisher.publish(tx, membershipChanged, {
    organizationId: change.organizationId,
    userId: change.userId,
    change: change.change,
    roles: change.roles ? [...change.roles] : null,
  });
}
