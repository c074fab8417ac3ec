// Membership changes: roles, removal, leaving. Every change to an organization's members runs in a
// transaction holding the organization row lock, so "the last owner cannot leave or be removed" holds even
// when two owners act at the same moment.
import { isOrganizationRole } from '@g3d/auth';
import type { Membership, PrismaClient } from '@g3d/db';
import { badUserInput, conflict, forbidden, notFound } from '@g3d/errors';

type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

const OWNER = 'owner';
const ADMIN_ROLES = new Set(['owner', 'admin']);

export class MembershipsService {
  constructor(private readonly prisma: PrismaClient) {}

  private locked<T>(organizationId: string, work: (tx: Tx, members: Membership[]) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT "id" FROM "organization"."organizations" WHERE "id" = ${organizationId}::uuid FOR UPDATE`;
      const members = await tx.membership.findMany({ where: { organizationId } });
      return work(tx, members);
    });
  }

  /** Owners and admins change roles; only owners grant or take the owner role; one owner always remains. */
  changeRoles(organizationId: string, actorId: string, userId: string, rawRoles: string[]): Promise<Membership> {
    const roles = [...new Set(rawRoles)];
    if (roles.length === 0 || roles.length > 20) throw badUserInput('Give between 1 and 20 roles', 'roles');
    for (const role of roles)
      if (!isOrganizationRole(role)) throw badUserInput(`Unknown role: ${role.slice(0, 32)}`, 'roles');
    return this.locked(organizationId, async (tx, members) => {
      const actor = members.find((m) => m.userId === actorId);
      const target = members.find((m) => m.userId === userId);
      if (!actor?.roles.some((r) => ADMIN_ROLES.has(r))) throw forbidden('Organization administrators only');
      if (!target) throw notFound('No such member');
      const ownerChange = target.roles.includes(OWNER) !== roles.includes(OWNER);
      if (ownerChange && !actor.roles.includes(OWNER)) throw forbidden('Only owners grant or remove the owner role');
      if (target.roles.includes(OWNER) && !roles.includes(OWNER) && owners(members) === 1) {
        throw conflict('The last owner cannot give up the owner role; make someone else owner first');
      }
      return tx.membership.update({ where: { id: target.id }, data: { roles } });
    });
  }

  /** Owners and admins remove members; admins cannot remove owners; the last owner cannot be removed. */
  remove(organizationId: string, actorId: string, userId: string): Promise<void> {
    return this.locked(organizationId, async (tx, members) => {
      const actor = members.find((m) => m.userId === actorId);
      const target = members.find((m) => m.userId === userId);
      if (!actor?.roles.some((r) => ADMIN_ROLES.has(r))) throw forbidden('Organization administrators only');
      if (!target) throw notFound('No such member');
      if (target.roles.includes(OWNER) && !actor.roles.includes(OWNER)) throw forbidden('Only owners remove owners');
      if (target.roles.includes(OWNER) && owners(members) === 1) throw conflict('The last owner cannot be removed');
      await tx.membership.delete({ where: { id: target.id } });
    });
  }

  /** Any member leaves, except the last owner. */
  leave(organizationId: string, userId: string): Promise<void> {
    return this.locked(organizationId, async (tx, members) => {
      const self = members.find((m) => m.userId === userId);
      if (!self) throw notFound('No such organization');
      if (self.roles.includes(OWNER) && owners(members) === 1) {
        throw conflict('The last owner cannot leave; make someone else owner first');
      }
      await tx.membership.delete({ where: { id: self.id } });
    });
  }
}

const owners = (members: Membership[]) => members.filter((m) => m.roles.includes(OWNER)).length;
