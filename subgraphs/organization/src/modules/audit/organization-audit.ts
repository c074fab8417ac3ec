// The organization audit log: append-only (a trigger refuses UPDATE and DELETE), written in the same
// transaction as the change it records, readable by the organization's administrators.
import type { Db, OrganizationAuditEvent, Prisma, PrismaClient } from '@g3d/db';

export type OrganizationAuditType =
  | 'organization.created'
  | 'organization.updated'
  | 'organization.deleted'
  | 'settings.updated'
  | 'ownership.transferred'
  | 'member.added'
  | 'member.roles_changed'
  | 'member.removed'
  | 'member.left'
  /** The member's account was erased (actor: the platform). */
  | 'member.erased'
  | 'invitation.created'
  | 'invitation.resent'
  | 'invitation.revoked'
  | 'invitation.accepted';

export interface OrganizationAuditRecord {
  organizationId: string;
  type: OrganizationAuditType;
  actorId: string | null;
  subjectId?: string | null;
  metadata?: Prisma.InputJsonObject;
}

export const MAX_AUDIT_PAGE = 200;

export class OrganizationAuditLog {
  constructor(private readonly prisma: PrismaClient) {}

  async record(db: Db, event: OrganizationAuditRecord): Promise<void> {
    await db.organizationAuditEvent.create({
      data: {
        organizationId: event.organizationId,
        type: event.type,
        actorId: event.actorId,
        subjectId: event.subjectId ?? null,
        metadata: event.metadata ?? {},
      },
    });
  }

  /** Newest first; `first` is checked by the caller (1–MAX_AUDIT_PAGE). */
  list(organizationId: string, first: number, before: Date | null): Promise<OrganizationAuditEvent[]> {
    return this.prisma.organizationAuditEvent.findMany({
      where: { organizationId, ...(before ? { createdAt: { lt: before } } : {}) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: first,
    });
  }
}
