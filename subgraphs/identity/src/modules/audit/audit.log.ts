// The security audit log: append-only rows in identity.audit_events (a trigger rejects UPDATE/DELETE).
import type { ClientInfo } from '@g3d/auth';
import { Prisma, type PrismaClient } from '@g3d/db';

export type AuditEventType =
  | 'user.registered'
  | 'user.registration_existing_email'
  | 'user.email_verified'
  | 'user.profile_updated'
  | 'user.consent_updated'
  | 'login.succeeded'
  | 'login.failed'
  | 'login.locked'
  | 'login.mfa_required'
  | 'mfa.enrollment_started'
  | 'mfa.enabled'
  | 'mfa.disabled'
  | 'mfa.code_rejected'
  | 'mfa.code_replayed'
  | 'mfa.backup_code_used'
  | 'mfa.backup_codes_regenerated'
  | 'password.reset_requested'
  | 'password.reset'
  | 'password.changed'
  | 'session.revoked'
  | 'session.logout'
  | 'sessions.revoked_others'
  | 'refresh_token.reused'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'account.exported'
  | 'account.erased';

export interface AuditRecord {
  type: AuditEventType;
  userId?: string | null;
  actorId?: string | null;
  client?: ClientInfo;
  metadata?: Record<string, unknown>;
}

type Db = PrismaClient | Prisma.TransactionClient;

export class AuditLog {
  constructor(private readonly prisma: PrismaClient) {}

  /** Appends an event; pass `tx` to make it part of the same transaction as the change it records. */
  async record(event: AuditRecord, tx: Db = this.prisma): Promise<void> {
    await tx.auditEvent.create({
      data: {
        type: event.type,
        userId: event.userId ?? null,
        actorId: event.actorId ?? null,
        ip: event.client?.ip ?? '',
        userAgent: event.client?.userAgent ?? '',
        metadata: (event.metadata ?? {}) as Prisma.InputJsonValue,
      },
    });
  }

  /** Newest first; `before` is the id of the last event of the previous page. */
  async page(filter: { userId?: string; type?: string }, first: number, before?: string) {
    let cursor: { createdAt: Date; id: string } | null = null;
    if (before) {
      cursor = await this.prisma.auditEvent.findUnique({
        where: { id: before },
        select: { createdAt: true, id: true },
      });
      if (!cursor) return { events: [], nextCursor: null };
    }
    const rows = await this.prisma.auditEvent.findMany({
      where: {
        ...(filter.userId ? { userId: filter.userId } : {}),
        ...(filter.type ? { type: filter.type } : {}),
        ...(cursor
          ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: first + 1,
    });
    const events = rows.slice(0, first);
    return { events, nextCursor: rows.length > first ? (events.at(-1)?.id ?? null) : null };
  }
}
