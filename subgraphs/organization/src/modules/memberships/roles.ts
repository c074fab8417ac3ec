// Organization roles as memberships hold them: owners and admins administer; one owner always remains.
import { isOrganizationRole } from '@g3d/auth';
import type { Membership } from '@g3d/db';
import { badUserInput } from '@g3d/errors';

export const OWNER = 'owner';
export const ADMIN = 'admin';
export const ADMIN_ROLES = new Set([OWNER, ADMIN]);
const MAX_ROLES = 20;

export const isAdmin = (m: Pick<Membership, 'roles'> | undefined) => m?.roles.some((r) => ADMIN_ROLES.has(r)) ?? false;
export const isOwner = (m: Pick<Membership, 'roles'> | undefined) => m?.roles.includes(OWNER) ?? false;
export const owners = (members: Pick<Membership, 'roles'>[]) => members.filter((m) => isOwner(m)).length;

/** The roles of a member made owner: owners also administer. */
export const asOwner = (roles: readonly string[]) => [...new Set([OWNER, ADMIN, ...roles])];
/** The roles of an owner who hands ownership on: they stay admin. */
export const asFormerOwner = (roles: readonly string[]) => [...new Set([ADMIN, ...roles.filter((r) => r !== OWNER)])];

/** Distinct, known organization roles (1–20); BAD_USER_INPUT otherwise. */
export function cleanRoles(raw: readonly string[]): string[] {
  const roles = [...new Set(raw)];
  if (roles.length === 0 || roles.length > MAX_ROLES) throw badUserInput('Give between 1 and 20 roles', 'roles');
  for (const role of roles)
    if (!isOrganizationRole(role)) throw badUserInput(`Unknown role: ${role.slice(0, 32)}`, 'roles');
  return roles;
}
