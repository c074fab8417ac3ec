// Every change to an organization or its members runs in a transaction holding the organization row lock, with
// the member list read inside the lock: "the last owner cannot leave or be removed" and the seat limit hold
// even when two administrators act at the same moment. Users whose authorization the change affects get their
// access tokens refreshed once it has committed (authorization-changes.ts).
import type { Membership, Organization, PrismaClient, Tx } from '@g3d/db';
import { notFound } from '@g3d/errors';

import type { MembershipsRepository } from '../memberships/memberships.repository.ts';
import type { AuthorizationChanges } from './authorization-changes.ts';
import type { OrganizationsRepository } from './organizations.repository.ts';

export type LockedChange<T> = (
  tx: Tx,
  members: Membership[],
  organization: Organization,
  /** Users whose tokens must be refreshed after the commit. */
  affected: Set<string>,
) => Promise<T>;

export class OrganizationLock {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly organizations: OrganizationsRepository,
    private readonly memberships: MembershipsRepository,
    private readonly changes: AuthorizationChanges,
  ) {}

  /** Runs `work` with the organization row locked and its members read inside the lock; NOT_FOUND when deleted. */
  async run<T>(organizationId: string, work: LockedChange<T>): Promise<T> {
    const affected = new Set<string>();
    let changedAt = new Date();
    const result = await this.prisma.$transaction(async (tx) => {
      const organization = await this.organizations.lock(tx, organizationId);
      if (!organization) throw notFound('No such organization');
      const members = await this.memberships.ofOrganization(tx, organizationId);
      const outcome = await work(tx, members, organization, affected);
      // The record of the change commits with it; the store (what the gateway reads) is told after.
      if (affected.size) changedAt = await this.changes.record(tx, affected);
      return outcome;
    });
    if (affected.size) await this.changes.mark(affected, changedAt);
    return result;
  }
}
