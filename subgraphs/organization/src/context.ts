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
}

export function createOrganizationContext(base: BaseContext, services: OrganizationServices): OrganizationContext {
  const { organizations, memberships } = services.repos;
  const pages = new Map<number, DataLoader<string, Membership[]>>();
  return {
    ...base,
    services,
    organizations: oneByKey(
      (ids) => organizations.findByIds(ids),
      (o) => o.id,
    ),
    membershipsOfUser: manyByKey(
      (ids) => memberships.membershipsOfUsers(ids),
      (m) => m.userId,
    ),
    memberCounts: oneByKey(
      (ids) => memberships.memberCounts(ids),
      (c) => c.organizationId,
    ),
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
