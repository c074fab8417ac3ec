// Invitations: a single-use token (256 bits, only its SHA-256 stored), mailed through the platform outbox,
// valid 7 days. Every change runs under the organization lock (organization-lock.ts): the seat limit (members
// plus pending invitations; the plan's seats, owned by entitlement) and "accepted once" hold under concurrency.
import { randomSecret, sha256 } from '@g3d/auth';
import type { Invitation, Membership, Tx } from '@g3d/db';
import type { PlanLimits } from '@g3d/entitlement-client';
import { AppError, conflict, forbidden, notFound } from '@g3d/errors';
import { normalizeEmail } from '@g3d/kit';
import type { Mailer } from '@g3d/mail';

import type { OrganizationAuditLog } from '../audit/organization-audit.ts';
import { publishMembershipChange } from '../memberships/membership-events.ts';
import type { MembershipsRepository } from '../memberships/memberships.repository.ts';
import { cleanRoles, isAdmin, isOwner } from '../memberships/roles.ts';
import { domainAllowed, readSettings } from '../organizations/organization-input.ts';
import type { OrganizationLock } from '../organizations/organization-lock.ts';
import { invitationMail } from './invitation-mail.ts';
import type { InvitationsRepository, InvitationStatus } from './invitations.repository.ts';
import type { MailIpLimit } from './mail-ip-limit.ts';

export const INVITATION_TTL_DAYS = 7;
const INVITATION_TTL_MS = INVITATION_TTL_DAYS * 24 * 3600 * 1000;
const TOKEN_PREFIX = 'inv_';
export const MAX_INVITATION_PAGE = 1000;

export function invitationStatus(invitation: Invitation, now = Date.now()): InvitationStatus {
  if (invitation.acceptedAt) return 'ACCEPTED';
  if (invitation.revokedAt) return 'REVOKED';
  return invitation.expiresAt.getTime() <= now ? 'EXPIRED' : 'PENDING';
}

const newToken = () => `${TOKEN_PREFIX}${randomSecret(32)}`;
const expiry = () => new Date(Date.now() + INVITATION_TTL_MS);

/** Unknown, revoked and expired tokens all get this one answer. */
const invalidInvitation = () =>
  new AppError('NOT_FOUND', 'This invitation is invalid or has expired', { reason: 'INVITATION_INVALID' });

export interface Actor {
  userId: string;
  isPlatformAdmin: boolean;
}

export interface InvitationsDeps {
  lock: OrganizationLock;
  invitations: InvitationsRepository;
  memberships: MembershipsRepository;
  audit: OrganizationAuditLog;
  mailer: Mailer;
  /** Base URL of the web app: invitation links point there. */
  appUrl: string;
  /** Invitations send mail: counted per client IP with identity's mail requests (MAIL_IP_LIMIT). */
  mailLimit: MailIpLimit;
  /** The organization's plan limits (entitlement owns them: packages/entitlement-client readPlanLimits). */
  planLimits: (organizationId: string) => Promise<PlanLimits>;
}

/** Where a request comes from, as the gateway saw it ('' when unknown: no per-IP limit). */
export interface RequestOrigin {
  ip: string;
}

export class InvitationsService {
  constructor(private readonly deps: InvitationsDeps) {}

  /**
   * Owners and admins invite with any roles (only owners invite owners); when the organization allows user
   * invites, any member may invite with the member role.
   */
  async invite(
    actor: Actor,
    input: { organizationId: string; email: string; roles?: string[] | null },
    origin: RequestOrigin,
  ) {
    const { lock, invitations, audit } = this.deps;
    const email = normalizeEmail(input.email);
    const roles = cleanRoles(input.roles ?? ['member']);
    await this.deps.mailLimit.take(origin.ip);
    const seats = await this.seatLimit(input.organizationId, actor.userId);
    const token = newToken();
    const { invitation, organizationName } = await lock.run(input.organizationId, async (tx, members, organization) => {
      const self = members.find((m) => m.userId === actor.userId);
      const settings = readSettings(organization.settings);
      const asMember = settings.allowUserInvites && self && roles.length === 1 && roles[0] === 'member';
      if (!isAdmin(self) && !asMember) throw forbidden('Organization administrators only');
      if (isOwner({ roles }) && !isOwner(self)) throw forbidden('Only owners invite owners');
      if (!domainAllowed(settings, email)) {
        throw new AppError('BAD_USER_INPUT', 'The organization does not allow invitations to this email domain', {
          field: 'email',
          reason: 'EMAIL_DOMAIN_NOT_ALLOWED',
        });
      }
      const pending = await invitations.pendingEmails(tx, organization.id);
      if (pending.includes(email))
        throw conflict('This address already has a pending invitation; resend it instead', 'email');
      seatCheck(members.length + pending.length, seats);
      const created = await invitations.create(tx, {
        organizationId: organization.id,
        email,
        roles,
        tokenHash: sha256(token),
        invitedBy: actor.userId,
        expiresAt: expiry(),
      });
      await audit.record(tx, {
        organizationId: organization.id,
        type: 'invitation.created',
        actorId: actor.userId,
        metadata: { invitationId: created.id, email, roles },
      });
      return { invitation: created, organizationName: organization.name };
    });
    await this.send(invitation, organizationName, token);
    return invitation;
  }

  /** A new token and a new 7 days for a pending invitation; the old link stops working. */
  async resend(actor: Actor, invitationId: string, origin: RequestOrigin) {
    await this.deps.mailLimit.take(origin.ip);
    const token = newToken();
    const { invitation, organizationName } = await this.change(actor, invitationId, async (tx, current, org) => {
      if (invitationStatus(current) === 'ACCEPTED' || current.revokedAt)
        throw conflict('Only pending or expired invitations can be resent');
      const updated = await this.deps.invitations.renew(tx, current.id, sha256(token), expiry());
      await this.deps.audit.record(tx, {
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
      const updated = await this.deps.invitations.revoke(tx, current.id);
      await this.deps.audit.record(tx, {
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
  async accept(caller: { userId: string; email: string | null }, rawToken: string): Promise<Membership> {
    if (!rawToken.startsWith(TOKEN_PREFIX) || rawToken.length > 100) throw invalidInvitation();
    const found = await this.deps.invitations.findByTokenHash(sha256(rawToken));
    if (!found) throw invalidInvitation();
    const seats = await this.seatLimit(found.organizationId, null);
    return this.deps.lock.run(found.organizationId, async (tx, members, organization) => {
      const invitation = await this.deps.invitations.findById(found.id, tx);
      if (!invitation || invitation.tokenHash !== sha256(rawToken)) throw invalidInvitation(); // resent meanwhile
      checkAcceptable(invitation, caller);
      const settings = readSettings(organization.settings);
      if (!domainAllowed(settings, invitation.email))
        throw forbidden('The organization no longer allows members from this email domain');
      if (members.some((m) => m.userId === caller.userId))
        throw conflict('You are already a member of this organization');
      // Pending invitations are already counted against the limit: this one turns into a member.
      seatCheck(members.length, seats);
      return this.join(tx, invitation, caller.userId);
    });
  }

  /** `first` is checked by the caller (1–MAX_INVITATION_PAGE). */
  list(organizationId: string, status: InvitationStatus, first: number): Promise<Invitation[]> {
    return this.deps.invitations.list(organizationId, status, first);
  }

  /**
   * The plan's seat limit (null: unlimited), read before the organization lock: waiting on entitlement must not
   * hold the organization's row (nor, on the embedded database, its one connection). With `memberId`, only for a
   * member (the lock refuses anyone else), so a stranger cannot make us ask entitlement about any id; undefined
   * then.
   */
  private async seatLimit(organizationId: string, memberId: string | null): Promise<number | null | undefined> {
    if (memberId !== null && !(await this.deps.memberships.isMember(organizationId, memberId))) return undefined;
    return (await this.deps.planLimits(organizationId)).seats;
  }

  /** The accepted invitation's membership, audited and announced (inside the accept transaction). */
  private async join(tx: Tx, invitation: Invitation, userId: string): Promise<Membership> {
    const { memberships, invitations, audit } = this.deps;
    const { organizationId, roles } = invitation;
    const membership = await memberships.create(tx, { organizationId, userId, roles });
    await invitations.markAccepted(tx, invitation.id, userId);
    await audit.record(tx, {
      organizationId,
      type: 'invitation.accepted',
      actorId: userId,
      subjectId: userId,
      metadata: { invitationId: invitation.id },
    });
    await audit.record(tx, {
      organizationId,
      type: 'member.added',
      actorId: invitation.invitedBy,
      subjectId: userId,
      metadata: { roles, invitationId: invitation.id },
    });
    await publishMembershipChange(tx, { organizationId, userId, change: 'joined', roles });
    return membership;
  }

  /** An administrator's change to one invitation of a live organization, under the organization lock. */
  private async change<T>(
    actor: Actor,
    invitationId: string,
    work: (tx: Tx, invitation: Invitation, organization: { id: string; name: string }) => Promise<T>,
  ): Promise<T> {
    const found = await this.deps.invitations.findById(invitationId);
    if (!found) throw notFound('No such invitation');
    return this.deps.lock.run(found.organizationId, async (tx, members, organization) => {
      // Strangers learn nothing: the same answer as for an unknown id.
      const self = members.find((m) => m.userId === actor.userId);
      if (!self && !actor.isPlatformAdmin) throw notFound('No such invitation');
      if (!isAdmin(self) && !actor.isPlatformAdmin) throw forbidden('Organization administrators only');
      const current = await this.deps.invitations.findById(invitationId, tx);
      if (!current) throw notFound('No such invitation');
      return work(tx, current, organization);
    });
  }

  private async send(invitation: Invitation, organizationName: string, token: string): Promise<void> {
    const link = new URL(`/invitations/accept?token=${encodeURIComponent(token)}`, this.deps.appUrl).toString();
    await this.deps.mailer.send(
      invitationMail({ to: invitation.email, organizationName, link, expiresInDays: INVITATION_TTL_DAYS }),
    );
  }
}

/** A pending invitation for the signed-in account's own address. */
function checkAcceptable(invitation: Invitation, caller: { email: string | null }): void {
  const status = invitationStatus(invitation);
  if (status === 'ACCEPTED') throw conflict('This invitation has already been accepted');
  if (status !== 'PENDING') throw invalidInvitation();
  if (!caller.email || caller.email !== invitation.email) {
    throw new AppError('FORBIDDEN', 'This invitation is for another email address; sign in with that account', {
      reason: 'INVITATION_EMAIL_MISMATCH',
    });
  }
}

/** Members (plus pending invitations) against the plan's seats: null is unlimited, undefined not read (a retry). */
function seatCheck(taken: number, seats: number | null | undefined): void {
  if (seats === undefined) throw conflict('The organization changed meanwhile; retry');
  if (seats !== null && taken >= seats) {
    throw new AppError('QUOTA_EXCEEDED', `The organization's plan has no free seat (limit ${seats})`, {
      reason: 'SEAT_LIMIT',
      seatLimit: seats,
    });
  }
}
