// Membership changes: roles, removal, leaving, ownership transfer. Every change to an organization's members
// runs in a transaction holding the organization row lock, so "the last owner cannot leave or be removed" and
// the seat limit hold even when two administrators act at the same moment. Each change is audited in the same
// transaction, and the affected users' access tokens are made to refresh (authorization-changes.ts).
import { isOrganizationRole } from '@g3d/auth';
import type { Membership, Organization, PrismaClient } from '@g3d/db';
import { badUserInput, conflict, forbidden, notFound } from '@g3d/errors';

import type { OrganizationAuditLog } from '../audit/organization-audit.ts';
import type { AuthorizationChanges } from './authorization-changes.ts';

export type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

export const OWNER = 'owner';
export const ADMIN_ROLES = new Set(['owner', 'admin']);
const MAX_ROLES = 20;

export const isAdmin = (m: Membership | undefined) => m?.roles.some((r) => ADMIN_ROLES.has(r)) ?? false;
export const owners = (members: Membership[]) => members.filter((m) => m.roles.includes(OWNER)).length;

/** Distinct, known organization roles (1–20); BAD_USER_INPUT otherwise. */
export function cleanRoles(raw: readonly string[]): string[] {
  const roles = [...new Set(raw)];
  if (roles.length === 0 || roles.length > MAX_ROLES) throw badUserInput('Give between 1 and 20 roles', 'roles');
  for (const role of roles)
    if (!isOrganizationRole(role)) throw badUserInput(`Unknown role: ${role.slice(0, 32)}`, 'roles');
  return roles;
}

export class MembershipsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly audit: OrganizationAuditLog,
    private readonly changes: AuthorizationChanges,
  ) {}

  /**
   * Runs `work` with the organization row locked and its members read inside the lock; NOT_FOUND for a deleted
   * organization. Users in `affected` get their tokens refreshed after the commit.
   */
  async locked<T>(
    organizationId: string,
    work: (tx: Tx, members: Membership[], organization: Organization, affected: Set<string>) => Promise<T>,
  ): Promise<T> {
    const affected = new Set<string>();
    const result = await this.prisma.$transaction(async (tx) => {
      const [organization] = await tx.$queryRaw<Organization[]>`
        SELECT "id" FROM "organization"."organizations"
        WHERE "id" = ${organizationId}::uuid AND "deleted_at" IS NULL FOR UPDATE`;
      if (!organization) throw notFound('No such organization');
      const full = await tx.organization.findUniqueOrThrow({ where: { id: organizationId } });
      const members = await tx.membership.findMany({ where: { organizationId } });
      return work(tx, members, full, affected);
    });
    await this.changes.mark(affected);
    return result;
  }

  /** Owners and admins change roles; only owners grant or take the owner role; one owner always remains. */
  changeRoles(organizationId: string, actorId: string, userId: string, rawRoles: string[]): Promise<Membership> {
    const roles = cleanRoles(rawRoles);
    return this.locked(organizationId, async (tx, members, _org, affected) => {
      const actor = members.find((m) => m.userId === actorId);
      const target = members.find((m) => m.userId === userId);
      if (!isAdmin(actor)) throw forbidden('Organization administrators only');
      if (!target) throw notFound('No such member');
      const ownerChange = target.roles.includes(OWNER) !== roles.includes(OWNER);
      if (ownerChange && !actor?.roles.includes(OWNER)) throw forbidden('Only owners grant or remove the owner role');
      if (target.roles.includes(OWNER) && !roles.includes(OWNER) && owners(members) === 1) {
        throw conflict('The last owner cannot give up the owner role; make someone else owner first');
      }
      const updated = await tx.membership.update({ where: { id: target.id }, data: { roles } });
      await this.audit.record(tx, {
        organizationId,
        type: 'member.roles_changed',
        actorId,
        subjectId: userId,
        metadata: { from: target.roles, to: roles },
      });
      affected.add(userId);
      return updated;
    });
  }

  /** Owners and admins remove members; admins cannot remove owners; the last owner cannot be removed. */
  remove(organizationId: string, actorId: string, userId: string): Promise<void> {
    return this.locked(organizationId, async (tx, members, _org, affected) => {
      const actor = members.find((m) => m.userId === actorId);
      const target = members.find((m) => m.userId === userId);
      if (!isAdmin(actor)) throw forbidden('Organization administrators only');
      if (!target) throw notFound('No such member');
      if (target.roles.includes(OWNER) && !actor?.roles.includes(OWNER)) throw forbidden('Only owners remove owners');
      if (target.roles.includes(OWNER) && owners(members) === 1) throw conflict('The last owner cannot be removed');
      await tx.membership.delete({ where: { id: target.id } });
      await this.audit.record(tx, {
        organizationId,
        type: 'member.removed',
        actorId,
        subjectId: userId,
        metadata: { roles: target.roles },
      });
      affected.add(userId);
    });
  }

  /** Any member leaves, except the last owner. */
  leave(organizationId: string, userId: string): Promise<void> {
    return this.locked(organizationId, async (tx, members, _org, affected) => {
      const self = members.find((m) => m.userId === userId);
      if (!self) throw notFound('No such organization');
      if (self.roles.includes(OWNER) && owners(members) === 1) {
        throw conflict('The last owner cannot leave; make someone else owner first');
      }
      await tx.membership.delete({ where: { id: self.id } });
      await this.audit.record(tx, { organizationId, type: 'member.left', actorId: userId, subjectId: userId });
      affected.add(userId);
    });
  }

  /** An owner makes another member owner (and admin); the previous owner keeps the admin role. */
  transferOwnership(organizationId: string, actorId: string, userId: string): Promise<Membership> {
    return this.locked(organizationId, async (tx, members, _org, affected) => {
      const actor = members.find((m) => m.userId === actorId);
      const target = members.find((m) => m.userId === userId);
      if (!actor?.roles.includes(OWNER)) throw forbidden('Only owners transfer ownership');
      if (!target) throw notFound('No such member');
      if (target.userId === actorId) throw badUserInput('You are already the owner', 'userId');
      const promoted = await tx.membership.update({
        where: { id: target.id },
        data: { roles: [...new Set([OWNER, 'admin', ...target.roles])] },
      });
      await tx.membership.update({
        where: { id: actor.id },
        data: { roles: [...new Set(['admin', ...actor.roles.filter((r) => r !== OWNER)])] },
      });
      await this.audit.record(tx, {
        organizationId,
        type: 'ownership.transferred',
        actorId,
        subjectId: userId,
        metadata: {},
      });
      affected.add(userId).add(actorId);
      return promoted;
    });
  }
}
