// Invitations: a single-use token (256 bits, only its SHA-256 stored), mailed through the platform outbox,
// valid 7 days. Every change runs under the organization lock (memberships.service.ts): the seat limit
// (members plus pending invitations) and "accepted once" hold under concurrency.
import { createHash, randomBytes } from 'node:crypto';

import type { Invitation, PrismaClient } from '@g3d/db';
import { AppError, conflict, forbidden, notFound } from '@g3d/errors';
import { normalizeEmail } from '@g3d/kit';
import type { Mailer } from '@g3d/mail';

import type { OrganizationAuditLog } from '../audit/organization-audit.ts';
import { cleanRoles, isAdmin, type MembershipsService, OWNER, type Tx } from '../organizations/memberships.service.ts';
import { domainAllowed, readSettings } from '../organizations/organization-input.ts';
import { invitationMail } from './invitation-mail.ts';

export const INVITATION_TTL_DAYS = 7;
const INVITATION_TTL_MS = INVITATION_TTL_DAYS * 24 * 3600 * 1000;
const TOKEN_PREFIX = 'inv_';
export const MAX_INVITATION_PAGE = 1000;

export type InvitationStatus = 'PENDING' | 'ACCEPTED' | 'REVOKED' | 'EXPIRED';

export function invitationStatus(invitation: Invitation, now = Date.now()): InvitationStatus {
  if (invitation.acceptedAt) return 'ACCEPTED';
  if (invitation.revokedAt) return 'REVOKED';
  return invitation.expiresAt.getTime() <= now ? 'EXPIRED' : 'PENDING';
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const newToken = () => `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;

/** Unknown, revoked and expired tokens all get this one answer. */
const invalidInvitation = () =>
  new AppError('NOT_FOUND', 'This invitation is invalid or has expired', { reason: 'INVITATION_INVALID' });

export interface Actor {
  userId: string;
  isPlatformAdmin: boolean;
}

export class InvitationsService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly memberships: MembershipsService,
    private readonly audit: OrganizationAuditLog,
    private readonly mailer: Mailer,
    private readonly appUrl: string,
  ) {}

  /**
   * Owners and admins invite with any roles (only owners invite owners); when the organization allows user
   * invites, any member may invite with the member role.
   */
  async invite(actor: Actor, input: { organizationId: string; email: string; roles?: string[] | null }) {
    const email = normalizeEmail(input.email);
    const roles = cleanRoles(input.roles ?? ['member']);
    const token = newToken();
    const { invitation, organizationName } = await this.memberships.locked(
      input.organizationId,
      async (tx, members, organization) => {
        const self = members.find((m) => m.userId === actor.userId);
        const settings = readSettings(organization.settings);
        const asMember = settings.allowUserInvites && self && roles.length === 1 && roles[0] === 'member';
        if (!isAdmin(self) && !asMember) throw forbidden('Organization administrators only');
        if (roles.includes(OWNER) && !self?.roles.includes(OWNER)) throw forbidden('Only owners invite owners');
        if (!domainAllowed(settings, email)) {
          throw new AppError('BAD_USER_INPUT', 'The organization does not allow invitations to this email domain', {
            field: 'email',
            reason: 'EMAIL_DOMAIN_NOT_ALLOWED',
          });
        }
        const pending = await tx.invitation.findMany({
          where: { organizationId: organization.id, acceptedAt: null, revokedAt: null, expiresAt: { gt: new Date() } },
          select: { email: true },
        });
        if (pending.some((p) => p.email === email))
          throw conflict('This address already has a pending invitation; resend it instead', 'email');
        seatCheck(members.length + pending.length, settings.seatLimit);
        const created = await tx.invitation.create({
          data: {
            organizationId: organization.id,
            email,
            roles,
            tokenHash: sha256(token),
            invitedBy: actor.userId,
            expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
          },
        });
        await this.audit.record(tx, {
          organizationId: organization.id,
          type: 'invitation.created',
          actorId: actor.userId,
          metadata: { invitationId: created.id, email, roles },
        });
        return { invitation: created, organizationName: organization.name };
      },
    );
    await this.send(invitation, organizationName, token);
    return invitation;
  }

  /** A new token and a new 7 days for a pending invitation; the old link stops working. */
  async resend(actor: Actor, invitationId: string) {
    const token = newToken();
    const { invitation, organizationName } = await this.change(actor, invitationId, async (tx, current, org) => {
      if (invitationStatus(current) === 'ACCEPTED' || current.revokedAt)
        throw conflict('Only pending or expired invitations can be resent');
      const updated = await tx.invitation.update({
        where: { id: current.id },
        data: { tokenHash: sha256(token), expiresAt: new Date(Date.now() + INVITATION_TTL_MS) },
      });
      await this.audit.record(tx, {
        organizationId: org.id,
        type: 'invitation.resent',
        actorId: actor.userId,
        metadata: { invitationId: current.id, email: current.email },
      });
      return { invitation: updated, organizationName: org.name };
    });
    await this.send(invitation, organizationName, token);
    return invitation;
  }

  revoke(actor: Actor, invitationId: string): Promise<Invitation> {
    return this.change(actor, invitationId, async (tx, current, org) => {
      if (invitationStatus(current) !== 'PENDING') throw conflict('Only pending invitations can be revoked');
      const updated = await tx.invitation.update({ where: { id: current.id }, data: { revokedAt: new Date() } });
      await this.audit.record(tx, {
        organizationId: org.id,
        type: 'invitation.revoked',
        actorId: actor.userId,
        metadata: { invitationId: current.id, email: current.email },
      });
      return updated;
    });
  }

  /**
   * Joins the invitation's organization. The signed-in account's (verified) email must be the invited one; the
   * domain policy and the seat limit are checked again; a token is accepted once.
   */
  async accept(caller: { userId: string; email: string | null }, rawToken: string) {
    if (!rawToken.startsWith(TOKEN_PREFIX) || rawToken.length > 100) throw invalidInvitation();
    const found = await this.prisma.invitation.findUnique({ where: { tokenHash: sha256(rawToken) } });
    if (!found) throw invalidInvitation();
    return this.memberships.locked(found.organizationId, async (tx, members, organization) => {
      const invitation = await tx.invitation.findUniqueOrThrow({ where: { id: found.id } });
      if (invitation.tokenHash !== sha256(rawToken)) throw invalidInvitation(); // resent meanwhile
      const status = invitationStatus(invitation);
      if (status === 'ACCEPTED') throw conflict('This invitation has already been accepted');
      if (status !== 'PENDING') throw invalidInvitation();
      if (!caller.email || caller.email !== invitation.email) {
        throw new AppError('FORBIDDEN', 'This invitation is for another email address; sign in with that account', {
          reason: 'INVITATION_EMAIL_MISMATCH',
        });
      }
      const settings = readSettings(organization.settings);
      if (!domainAllowed(settings, invitation.email))
        throw forbidden('The organization no longer allows members from this email domain');
      if (members.some((m) => m.userId === caller.userId))
        throw conflict('You are already a member of this organization');
      // Pending invitations are already counted against the limit: this one turns into a member.
      seatCheck(members.length, settings.seatLimit);
      const membership = await tx.membership.create({
        data: { organizationId: organization.id, userId: caller.userId, roles: invitation.roles },
      });
      await tx.invitation.update({
        where: { id: invitation.id },
        data: { acceptedAt: new Date(), acceptedBy: caller.userId },
      });
      await this.audit.record(tx, {
        organizationId: organization.id,
        type: 'invitation.accepted',
        actorId: caller.userId,
        subjectId: caller.userId,
        metadata: { invitationId: invitation.id },
      });
      await this.audit.record(tx, {
        organizationId: organization.id,
        type: 'member.added',
        actorId: invitation.invitedBy,
        subjectId: caller.userId,
        metadata: { roles: invitation.roles, invitationId: invitation.id },
      });
      return membership;
    });
  }

  /** `first` is checked by the caller (1–MAX_INVITATION_PAGE). */
  list(organizationId: string, status: InvitationStatus, first: number): Promise<Invitation[]> {
    const now = new Date();
    const where = {
      PENDING: { acceptedAt: null, revokedAt: null, expiresAt: { gt: now } },
      ACCEPTED: { acceptedAt: { not: null } },
      REVOKED: { acceptedAt: null, revokedAt: { not: null } },
      EXPIRED: { acceptedAt: null, revokedAt: null, expiresAt: { lte: now } },
    }[status];
    return this.prisma.invitation.findMany({
      where: { organizationId, ...where },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: first,
    });
  }

  /** An administrator's change to one invitation of a live organization, under the organization lock. */
  private async change<T>(
    actor: Actor,
    invitationId: string,
    work: (tx: Tx, invitation: Invitation, organization: { id: string; name: string }) => Promise<T>,
  ): Promise<T> {
    const found = await this.prisma.invitation.findUnique({ where: { id: invitationId } });
    if (!found) throw notFound('No such invitation');
    return this.memberships.locked(found.organizationId, async (tx, members, organization) => {
      // Strangers learn nothing: the same answer as for an unknown id.
      const self = members.find((m) => m.userId === actor.userId);
      if (!self && !actor.isPlatformAdmin) throw notFound('No such invitation');
      if (!isAdmin(self) && !actor.isPlatformAdmin) throw forbidden('Organization administrators only');
      const current = await tx.invitation.findUniqueOrThrow({ where: { id: invitationId } });
      return work(tx, current, organization);
    });
  }

  private async send(invitation: Invitation, organizationName: string, token: string): Promise<void> {
    const link = new URL(`/invitations/accept?token=${encodeURIComponent(token)}`, this.appUrl).toString();
    await this.mailer.send(
      invitationMail({ to: invitation.email, organizationName, link, expiresInDays: INVITATION_TTL_DAYS }),
    );
  }
}

function seatCheck(taken: number, seatLimit: number): void {
  if (taken >= seatLimit) {
    throw new AppError('QUOTA_EXCEEDED', `The organization has no free seat (limit ${seatLimit})`, {
      reason: 'SEAT_LIMIT',
      seatLimit,
    });
  }
}
