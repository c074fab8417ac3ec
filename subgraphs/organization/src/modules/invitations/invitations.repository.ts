// Invitation rows. An invitation is open until it is accepted or revoked (expired ones can still be resent).
import type { Db, Invitation, PrismaClient } from '@g3d/db';

export type InvitationStatus = 'PENDING' | 'ACCEPTED' | 'REVOKED' | 'EXPIRED';

const OPEN = { acceptedAt: null, revokedAt: null };

export class InvitationsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  findByTokenHash(tokenHash: string): Promise<Invitation | null> {
    return this.prisma.invitation.findUnique({ where: { tokenHash } });
  }

  findById(id: string, db: Db = this.prisma): Promise<Invitation | null> {
    return db.invitation.findUnique({ where: { id } });
  }

  /** Addresses with a pending (open, unexpired) invitation to the organization. */
  async pendingEmails(db: Db, organizationId: string): Promise<string[]> {
    const rows = await db.invitation.findMany({
      where: { organizationId, ...OPEN, expiresAt: { gt: new Date() } },
      select: { email: true },
    });
    return rows.map((r) => r.email);
  }

  create(
    db: Db,
    data: {
      organizationId: string;
      email: string;
      roles: string[];
      tokenHash: string;
      invitedBy: string;
      expiresAt: Date;
    },
  ): Promise<Invitation> {
    return db.invitation.create({ data });
  }

  /** A new token and expiry (resend: the old link stops working). */
  renew(db: Db, id: string, tokenHash: string, expiresAt: Date): Promise<Invitation> {
    return db.invitation.update({ where: { id }, data: { tokenHash, expiresAt } });
  }

  revoke(db: Db, id: string): Promise<Invitation> {
    return db.invitation.update({ where: { id }, data: { revokedAt: new Date() } });
  }

  async markAccepted(db: Db, id: string, userId: string): Promise<void> {
    await db.invitation.update({ where: { id }, data: { acceptedAt: new Date(), acceptedBy: userId } });
  }

  /** Revokes every open invitation of an organization (it is being deleted). */
  async revokeOpenOfOrganization(db: Db, organizationId: string): Promise<number> {
    const { count } = await db.invitation.updateMany({
      where: { organizationId, ...OPEN },
      data: { revokedAt: new Date() },
    });
    return count;
  }

  /** Open invitations a user issued, in any organization (erasure). */
  openIssuedBy(db: Db, userId: string): Promise<Invitation[]> {
    return db.invitation.findMany({ where: { invitedBy: userId, ...OPEN } });
  }

  /** Revokes the open invitations a user issued in one organization. */
  async revokeOpenIssuedBy(db: Db, organizationId: string, userId: string): Promise<number> {
    const { count } = await db.invitation.updateMany({
      where: { organizationId, invitedBy: userId, ...OPEN },
      data: { revokedAt: new Date() },
    });
    return count;
  }

  /** `first` is checked by the caller (1–MAX_INVITATION_PAGE). */
  list(organizationId: string, status: InvitationStatus, first: number): Promise<Invitation[]> {
    const now = new Date();
    const where = {
      PENDING: { ...OPEN, expiresAt: { gt: now } },
      ACCEPTED: { acceptedAt: { not: null } },
      REVOKED: { acceptedAt: null, revokedAt: { not: null } },
      EXPIRED: { ...OPEN, expiresAt: { lte: now } },
    }[status];
    return this.prisma.invitation.findMany({
      where: { organizationId, ...where },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: first,
    });
  }
}
