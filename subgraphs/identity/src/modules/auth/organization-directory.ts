// What identity needs from organization to issue a token: the user's memberships (organization, roles, MFA
// policy). Asked over organization's /internal/memberships (membershipsContract) with a service token signed by
// identity's key; the access token then carries the current organization and its scopes (RBAC model:
// @g3d/auth rbac.ts).
import { PLATFORM_ADMIN_ROLE, PLATFORM_SCOPES, scopesForRoles, type SigningKey } from '@g3d/auth';
import { membershipsContract } from '@g3d/contracts';
import { serviceUnavailable } from '@g3d/errors';
import { createInternalClient, type InternalClient, type Logger, serviceTokenHeaders } from '@g3d/kit';

export interface OrganizationMembership {
  organizationId: string;
  roles: string[];
  enforceMfa: boolean;
}

export interface OrganizationDirectory {
  membershipsOf(userId: string): Promise<OrganizationMembership[]>;
  /** Several users at once (a DataLoader batch): every membership of any of them. */
  membershipsOfUsers(userIds: readonly string[]): Promise<UserMembership[]>;
  /** Ends the directory's idle connections (at shutdown). */
  close(): void;
}

export type UserMembership = OrganizationMembership & { userId: string };

/**
 * The client of organization's /internal routes, signing each call with identity's key. `url` is asked at the
 * first call: in the all-in-one process organization starts after identity.
 */
export function organizationClient(options: { url: () => string; signingKey: SigningKey; logger: Logger }) {
  return createInternalClient({
    self: 'identity',
    target: 'organization',
    url: options.url,
    headers: serviceTokenHeaders('identity', options.signingKey, 'organization'),
    logger: options.logger,
  });
}

/**
 * Fails closed: without the memberships no token is issued (SERVICE_UNAVAILABLE), never one with wrong scopes.
 * The contract validates organization's answer.
 */
export function remoteOrganizationDirectory(client: InternalClient): OrganizationDirectory {
  const membershipsOfUsers = async (userIds: readonly string[]): Promise<UserMembership[]> => {
    const answer = await client.call(membershipsContract, { userIds: [...userIds] }).catch(() => {
      throw serviceUnavailable('Cannot reach the organization service; try again in a moment');
    });
    return answer.memberships;
  };
  return {
    membershipsOfUsers,
    membershipsOf: async (userId) =>
      (await membershipsOfUsers([userId])).map(({ userId: _user, ...membership }) => membership),
    close: () => client.close(),
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
