// Organization's per-request context: the process-wide services and this request's DataLoaders (one batched
// query per kind, whatever the number of parents).
import type { Membership, Organization } from '@g3d/db';
import { type BaseContext, type DataLoader, manyByKey, oneByKey } from '@g3d/kit';

import type { OrganizationServices } from './services.ts';

export interface OrganizationContext extends BaseContext {
  services: OrganizationServices;
  /** Live organizations by id. */
  organizations: DataLoader<string, Organization | null>;
  /** Memberships of users in live organizations, oldest first. */
  membershipsOfUser: DataLoader<string, Membership[]>;
  memberCounts: DataLoader<string, { organizationId: string; count: number } | null>;
  /** The first N members of organizations, one loader per page size N. */
  firstMembers: (first: number) => DataLoader<string, Membership[]>;
  /**
   * A mutation of this request changed memberships (or an organization): forget what the loaders hold about
   * them, so later fields of the same request — the mutation's own result, a second mutation — see the change.
   */
  changed(change: { userIds?: readonly string[]; organizationId?: string }): void;
}

export function createOrganizationContext(base: BaseContext, services: OrganizationServices): OrganizationContext {
  const { organizations, memberships } = services.repos;
  const pages = new Map<number, DataLoader<string, Membership[]>>();
  const organizationsById = oneByKey(
    (ids: readonly string[]) => organizations.findByIds(ids),
    (o) => o.id,
  );
  const membershipsOfUser = manyByKey(
    (ids: readonly string[]) => memberships.membershipsOfUsers(ids),
    (m) => m.userId,
  );
  const memberCounts = oneByKey(
    (ids: readonly string[]) => memberships.memberCounts(ids),
    (c) => c.organizationId,
  );
  return {
    ...base,
    services,
    organizations: organizationsById,
    membershipsOfUser,
    memberCounts,
    changed({ userIds = [], organizationId }) {
      for (const id of userIds) membershipsOfUser.clear(id);
      if (organizationId) {
        organizationsById.clear(organizationId);
        memberCounts.clear(organizationId);
        for (const page of pages.values()) page.clear(organizationId);
      }
    },
    firstMembers: (first) => {
      let loader = pages.get(first);
      if (!loader) {
        loader = manyByKey(
          (ids) => memberships.firstMembers(ids, first),
          (m) => m.organizationId,
        );
        pages.set(first, loader);
      }
      return loader;
    },
  };
}
