// Identity's per-request context: the process-wide services, this request's DataLoaders, and who signed in
// with this very request.
import { MAX_MEMBERSHIP_LOOKUP } from '@g3d/contracts';
import { unauthenticated } from '@g3d/errors';
import { type BaseContext, type DataLoader, isUuid, manyByKey, oneByKey } from '@g3d/kit';

import type { UserMembership } from './modules/auth/organization-directory.ts';
import type { UserRecord } from './modules/users/users.repository.ts';
import type { IdentityServices } from './services.ts';

export interface IdentityContext extends BaseContext {
  services: IdentityServices;
  /** Live users by id (one query per request batch). */
  users: DataLoader<string, UserRecord | null>;
  /** Users' organization memberships (from organization, one call per request batch). */
  organizationsOfUser: DataLoader<string, UserMembership[]>;
  /** Set by login/refresh so the new user's own fields can be returned in the same response. */
  signedIn: { userId: string | null };
}

export function createIdentityContext(base: BaseContext, services: IdentityServices): IdentityContext {
  return {
    ...base,
    services,
    users: oneByKey(
      // An id that is no UUID names no user (and must not reach a uuid column).
      (ids) => services.users.findByIds(ids.filter(isUuid)),
      (u) => u.id,
    ),
    organizationsOfUser: manyByKey(
      (ids) => services.organizations.membershipsOfUsers(ids),
      (m) => m.userId,
      // One call takes at most this many users (the contract's cap); a 1,000-member page plus others splits.
      { maxBatch: MAX_MEMBERSHIP_LOOKUP },
    ),
    signedIn: { userId: null },
  };
}

/** The signed-in user's id (the field's rule already demanded one). */
export function requireUser(ctx: BaseContext): string {
  if (!ctx.caller.userId) throw unauthenticated();
  return ctx.caller.userId;
}
