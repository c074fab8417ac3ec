// The security audit log: append-only rows in identity.audit_events (a trigger rejects UPDATE/DELETE).
import { randomUUID } from 'node:crypto';

import type { ClientInfo } from '@g3d/auth';
import { type Db, Prisma, type PrismaClient } from '@g3d/db';
import { isUuid } from '@g3d/kit';

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
  | 'mfa.locked'
  | 'password.reset_requested'
  | 'password.reset'
  | 'password.changed'
  | 'password.check_locked'
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

export class AuditLog {
  constructor(private readonly prisma: PrismaClient) {}

  /** Appends an event; pass `tx` to make it part of the same transaction as the change it records. */
  async record(event: AuditRecord, tx: Db = this.prisma): Promise<void> {
    await tx.$executeRaw(this.insert(event));
  }

  /**
   * The INSERT of one event, to fold into a larger statement as a CTE (login: one statement with the session).
   * Raw SQL rather than `auditEvent.create`: every login and failed login writes one, and the raw statement
   * skips Prisma's query planning and result mapping. created_at is the database's (transaction time).
   */
  insert(event: AuditRecord): Prisma.Sql {
    return Prisma.sql`
      INSERT INTO "identity"."audit_events" ("id", "type", "user_id", "actor_id", "ip", "user_agent", "metadata")
      VALUES (${randomUUID()}::uuid, ${event.type}, ${event.userId ?? null}::uuid, ${event.actorId ?? null}::uuid,
        ${event.client?.ip ?? ''}, ${event.client?.userAgent ?? ''}, ${JSON.stringify(event.metadata ?? {})}::jsonb)`;
  }

  /**
   * Newest first; `before` is the id of the last event of the previous page. A user id or cursor that is no
   * UUID names nothing: an empty page (it must not reach a uuid column).
   */
  async page(filter: { userId?: string; type?: string }, first: number, before?: string) {
    if ((filter.userId && !isUuid(filter.userId)) || (before && !isUuid(before)))
      return { events: [], nextCursor: null };
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
