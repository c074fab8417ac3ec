// Membership changes: roles, removal, leaving, ownership transfer. Each runs under the organization lock
// (organization-lock.ts), is audited and announced (membership-events.ts) in the same transaction, and makes the
// affected users' access tokens refresh.
import type { Membership } from '@g3d/db';
import { badUserInput, conflict, forbidden, notFound } from '@g3d/errors';

import type { OrganizationAuditLog } from '../audit/organization-audit.ts';
import type { OrganizationLock } from '../organizations/organization-lock.ts';
import { publishMembershipChange } from './membership-events.ts';
import type { MembershipsRepository } from './memberships.repository.ts';
import { asFormerOwner, asOwner, cleanRoles, isAdmin, isOwner, owners } from './roles.ts';

export class MembershipsService {
  constructor(
    private readonly lock: OrganizationLock,
    private readonly repo: MembershipsRepository,
    private readonly audit: OrganizationAuditLog,
  ) {}

  /** Owners and admins change roles; only owners grant or take the owner role; one owner always remains. */
  changeRoles(organizationId: string, actorId: string, userId: string, rawRoles: string[]): Promise<Membership> {
    const roles = cleanRoles(rawRoles);
    return this.lock.run(organizationId, async (tx, members, _org, affected) => {
      const actor = members.find((m) => m.userId === actorId);
      const target = members.find((m) => m.userId === userId);
      if (!isAdmin(actor)) throw forbidden('Organization administrators only');
      if (!target) throw notFound('No such member');
      const ownerChange = isOwner(target) !== isOwner({ roles });
      if (ownerChange && !isOwner(actor)) throw forbidden('Only owners grant or remove the owner role');
      if (isOwner(target) && !isOwner({ roles }) && owners(members) === 1) {
        throw conflict('The last owner cannot give up the owner role; make someone else owner first');
      }
      const updated = await this.repo.setRoles(tx, target.id, roles);
      await this.audit.record(tx, {
        organizationId,
        type: 'member.roles_changed',
        actorId,
        subjectId: userId,
        metadata: { from: target.roles, to: roles },
      });
      await publishMembershipChange(tx, { organizationId, userId, change: 'roles-changed', roles });
      affected.add(userId);
      return updated;
    });
  }

  /** Owners and admins remove members; admins cannot remove owners; the last owner cannot be removed. */
  remove(organizationId: string, actorId: string, userId: string): Promise<void> {
    return this.lock.run(organizationId, async (tx, members, _org, affected) => {
      const actor = members.find((m) => m.userId === actorId);
      const target = members.find((m) => m.userId === userId);
      if (!isAdmin(actor)) throw forbidden('Organization administrators only');
      if (!target) throw notFound('No such member');
      if (isOwner(target) && !isOwner(actor)) throw forbidden('Only owners remove owners');
      if (isOwner(target) && owners(members) === 1) throw conflict('The last owner cannot be removed');
      await this.repo.delete(tx, target.id);
      await this.audit.record(tx, {
        organizationId,
        type: 'member.removed',
        actorId,
        subjectId: userId,
        metadata: { roles: target.roles },
      });
      await publishMembershipChange(tx, { organizationId, userId, change: 'removed', roles: null });
      affected.add(userId);
    });
  }

  /** Any member leaves, except the last owner. */
  leave(organizationId: string, userId: string): Promise<void> {
    return this.lock.run(organizationId, async (tx, members, _org, affected) => {
      const self = members.find((m) => m.userId === userId);
      if (!self) throw notFound('No such organization');
      if (isOwner(self) && owners(members) === 1) {
        throw conflict('The last owner cannot leave; make someone else owner first');
      }
      await this.repo.delete(tx, self.id);
      await this.audit.record(tx, { organizationId, type: 'member.left', actorId: userId, subjectId: userId });
      await publishMembershipChange(tx, { organizationId, userId, change: 'left', roles: null });
      affected.add(userId);
    });
  }

  /** An owner makes another member owner (and admin); the previous owner keeps the admin role. */
  transferOwnership(organizationId: string, actorId: string, userId: string): Promise<Membership> {
    return this.lock.run(organizationId, async (tx, members, _org, affected) => {
      const actor = members.find((m) => m.userId === actorId);
      const target = members.find((m) => m.userId === userId);
      if (!actor || !isOwner(actor)) throw forbidden('Only owners transfer ownership');
      if (!target) throw notFound('No such member');
      if (target.userId === actorId) throw badUserInput('You are already the owner', 'userId');
      const promoted = await this.repo.setRoles(tx, target.id, asOwner(target.roles));
      const demoted = await this.repo.setRoles(tx, actor.id, asFormerOwner(actor.roles));
      await this.audit.record(tx, {
        organizationId,
        type: 'ownership.transferred',
        actorId,
        subjectId: userId,
        metadata: {},
      });
      for (const m of [promoted, demoted])
        await publishMembershipChange(tx, {
          organizationId,
          userId: m.userId,
          change: 'roles-changed',
          roles: m.roles,
        });
      affected.add(userId).add(actorId);
      return promoted;
    });
  }
}
