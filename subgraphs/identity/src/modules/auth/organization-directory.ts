// What identity needs from organization to issue a token: the user's memberships (organization, roles, MFA
// policy). Asked over organization's /internal/memberships with a service token signed by identity's key; the
// access token then carries the current organization and its scopes (RBAC model: @g3d/auth rbac.ts).
import { PLATFORM_ADMIN_ROLE, PLATFORM_SCOPES, scopesForRoles } from '@g3d/auth';
import { serviceUnavailable } from '@g3d/errors';
import type { ServiceClient } from '@g3d/kit';

export interface OrganizationMembership {
  organizationId: string;
  roles: string[];
  enforceMfa: boolean;
}

export interface OrganizationDirectory {
  membershipsOf(userId: string): Promise<OrganizationMembership[]>;
  /** Several users at once (a DataLoader batch): every membership of any of them. */
  membershipsOfUsers(userIds: readonly string[]): Promise<UserMembership[]>;
}

export type UserMembership = OrganizationMembership & { userId: string };

/** Identity running without an organization service (its own tests): tokens carry no organization. */
export const NO_ORGANIZATIONS: OrganizationDirectory = {
  membershipsOf: async () => [],
  membershipsOfUsers: async () => [],
};

const isMembership = (value: unknown): value is UserMembership => {
  const m = value as Partial<UserMembership> | null;
  return (
    typeof m?.userId === 'string' &&
    typeof m.organizationId === 'string' &&
    Array.isArray(m.roles) &&
    m.roles.every((r) => typeof r === 'string') &&
    typeof m.enforceMfa === 'boolean'
  );
};

/** Fails closed: without the memberships no token is issued (SERVICE_UNAVAILABLE), never one with wrong scopes. */
export function remoteOrganizationDirectory(call: ServiceClient): OrganizationDirectory {
  const membershipsOfUsers = async (userIds: readonly string[]) => {
    const answer = await call<{ memberships?: unknown }>('/memberships', { userIds }).catch(() => {
      throw serviceUnavailable('Cannot reach the organization service; try again in a moment');
    });
    if (!Array.isArray(answer.memberships) || !answer.memberships.every(isMembership))
      throw serviceUnavailable('The organization service answered unexpectedly');
    return answer.memberships;
  };
  return {
    membershipsOfUsers,
    membershipsOf: async (userId) =>
      (await membershipsOfUsers([userId])).map(({ userId: _user, ...membership }) => membership),
  };
}

export interface OrganizationClaims {
  organizationId: string | null;
  roles: string[];
  scopes: string[];
  mfaSetupRequired: boolean;
  /** When the memberships were asked for (epoch ms): see AccessTokenClaims.authorizedAt. */
  authorizedAt: number;
}

/** Asks for the memberships and remembers when (the token's authorizedAt). */
export async function lookUpMemberships(directory: OrganizationDirectory, userId: string) {
  const authorizedAt = Date.now();
  return { authorizedAt, memberships: await directory.membershipsOf(userId) };
}

/**
 * The token's organization claims: the preferred organization when the user is still a member of it, else their
 * first; roles = platform roles + roles there; scopes = those roles through the RBAC model (+ admin:platform for
 * super_admin, a platform role never granted by an organization).
 */
export function organizationClaims(
  user: { roles: string[]; mfaEnabled: boolean },
  lookup: { memberships: OrganizationMembership[]; authorizedAt: number },
  preferred: string | null,
): OrganizationClaims {
  const { memberships, authorizedAt } = lookup;
  const current = memberships.find((m) => m.organizationId === preferred) ?? memberships[0] ?? null;
  const orgRoles = current?.roles ?? [];
  return {
    organizationId: current?.organizationId ?? null,
    roles: [...new Set([...user.roles, ...orgRoles])],
    scopes: [
      ...scopesForRoles(orgRoles),
      ...(user.roles.includes(PLATFORM_ADMIN_ROLE) ? [PLATFORM_SCOPES.platformAdmin] : []),
    ].sort(),
    mfaSetupRequired: (current?.enforceMfa ?? false) && !user.mfaEnabled,
    authorizedAt,
  };
}
