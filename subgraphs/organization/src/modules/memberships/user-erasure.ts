// An erased account (identity.user-erased) leaves no trace in organizations' member lists and cannot leave an
// organization without an owner. The consumer runs inside the transaction that claimed the event delivery
// (packages/events) and writes only with it, so its effects happen once; a second delivery of the same event
// finds nothing left to do and changes nothing.
import { userErased } from '@g3d/contracts';
import type { Membership, Tx } from '@g3d/db';
import { type EventHandler, onEvent } from '@g3d/events';

import type { OrganizationAuditLog } from '../audit/organization-audit.ts';
import type { InvitationsRepository } from '../invitations/invitations.repository.ts';
import type { AuthorizationChanges } from '../organizations/authorization-changes.ts';
import type { OrganizationsRepository } from '../organizations/organizations.repository.ts';
import { publishMembershipChange } from './membership-events.ts';
import type { MembershipsRepository } from './memberships.repository.ts';
import { asOwner, isAdmin, isOwner, owners } from './roles.ts';

export interface UserErasureDeps {
  organizations: OrganizationsRepository;
  memberships: MembershipsRepository;
  invitations: InvitationsRepository;
  audit: OrganizationAuditLog;
  changes: AuthorizationChanges;
}

/** What erasing the user changed in one organization. */
export interface ErasureOutcome {
  organizationId: string;
  /** The user's roles there, or null when they were not a member (only invitations they issued). */
  roles: string[] | null;
  revokedInvitations: number;
  /** The member made owner because the erased user was the last owner. */
  promotedOwner: string | null;
  /** The erased user was the last member: the organization was deleted. */
  organizationDeleted: boolean;
}

export class UserErasure {
  constructor(private readonly deps: UserErasureDeps) {}

  /**
   * Removes the user's memberships and revokes the invitations they issued, in every organization, inside `tx`.
   * Nothing left to remove means the erasure was already handled: nothing is written.
   */
  async erase(tx: Tx, userId: string, eventId: string): Promise<ErasureOutcome[]> {
    const memberships = await this.deps.memberships.ofUser(tx, userId);
    const invitations = await this.deps.invitations.openIssuedBy(tx, userId);
    if (memberships.length === 0 && invitations.length === 0) return [];
    // Locks are taken in id order: two erasures touching the same organizations cannot deadlock.
    const organizationIds = [...new Set([...memberships, ...invitations].map((x) => x.organizationId))].sort();
    const outcomes: ErasureOutcome[] = [];
    for (const organizationId of organizationIds)
      outcomes.push(await this.eraseFrom(tx, organizationId, userId, eventId));
    // New owners' tokens must carry their new role (a store write: repeating it is harmless).
    const changed = [userId, ...outcomes.flatMap((o) => (o.promotedOwner ? [o.promotedOwner] : []))];
    await this.deps.changes.mark(changed, await this.deps.changes.record(tx, changed));
    return outcomes;
  }

  private async eraseFrom(tx: Tx, organizationId: string, userId: string, eventId: string): Promise<ErasureOutcome> {
    const { organizations, memberships, invitations, audit } = this.deps;
    const organization = await organizations.lock(tx, organizationId, { includeDeleted: true });
    const live = organization !== null && organization.deletedAt === null;
    const members = await memberships.ofOrganization(tx, organizationId);
    const self = members.find((m) => m.userId === userId);
    const remaining = members.filter((m) => m.userId !== userId);
    const outcome: ErasureOutcome = {
      organizationId,
      roles: self?.roles ?? null,
      revokedInvitations: await invitations.revokeOpenIssuedBy(tx, organizationId, userId),
      promotedOwner: null,
      organizationDeleted: false,
    };
    if (self) {
      await memberships.delete(tx, self.id);
      if (live) await publishMembershipChange(tx, { organizationId, userId, change: 'user-erased', roles: null });
    }
    await audit.record(tx, {
      organizationId,
      type: 'member.erased',
      actorId: null,
      subjectId: userId,
      metadata: { roles: outcome.roles, revokedInvitations: outcome.revokedInvitations, eventId },
    });
    if (live && self && remaining.length === 0) {
      await this.deleteOrganization(tx, organizationId);
      outcome.organizationDeleted = true;
    } else if (live && isOwner(self) && owners(remaining) === 0) {
      outcome.promotedOwner = await this.promoteSuccessor(tx, organizationId, remaining);
    }
    return outcome;
  }

  /** The longest-standing admin, else the longest-standing member, becomes owner (members come oldest first). */
  private async promoteSuccessor(tx: Tx, organizationId: string, remaining: Membership[]): Promise<string | null> {
    const successor = remaining.find((m) => isAdmin(m)) ?? remaining[0];
    if (!successor) return null;
    const promoted = await this.deps.memberships.setRoles(tx, successor.id, asOwner(successor.roles));
    await this.deps.audit.record(tx, {
      organizationId,
      type: 'ownership.transferred',
      actorId: null,
      subjectId: successor.userId,
      metadata: { reason: 'previous owner erased', from: successor.roles, to: promoted.roles },
    });
    await publishMembershipChange(tx, {
      organizationId,
      userId: successor.userId,
      change: 'roles-changed',
      roles: promoted.roles,
    });
    return successor.userId;
  }

  /** No member is left: the organization is deleted as deleteOrganization does (soft, invitations revoked). */
  private async deleteOrganization(tx: Tx, organizationId: string): Promise<void> {
    await this.deps.organizations.softDelete(tx, organizationId);
    await this.deps.invitations.revokeOpenOfOrganization(tx, organizationId);
    await this.deps.audit.record(tx, {
      organizationId,
      type: 'organization.deleted',
      actorId: null,
      metadata: { members: 0, reason: 'last member erased' },
    });
  }
}

/** The consumer of identity.user-erased (manifest: organization consumes it). */
export function userErasedHandler(erasure: UserErasure): EventHandler {
  return onEvent(userErased, async ({ userId }, { tx, eventId }) => {
    await erasure.erase(tx, userId, eventId);
  });
}
