// Sessions and tokens. A session is one login and one refresh-token family. Access tokens are short-lived
// JWTs; refresh tokens are opaque, stored as SHA-256, rotated on every use. A rotated refresh token presented
// again after the grace window is treated as stolen and ends the whole session.
import { randomUUID } from 'node:crypto';

import {
  type AccessTokenSettings,
  type ClientInfo,
  randomSecret,
  revokedSessionKey,
  sha256,
  signAccessToken,
  type SigningKey,
} from '@g3d/auth';
import { type Database, type Db, Prisma, type PrismaClient } from '@g3d/db';
import { badUserInput, notFound, unauthenticated } from '@g3d/errors';
import { isUuid } from '@g3d/kit';
import type { Store } from '@g3d/store';

import type { AuditLog, AuditRecord } from '../audit/audit.service.ts';
import {
  lookUpMemberships,
  type OrganizationClaims,
  organizationClaims,
  type OrganizationDirectory,
} from '../auth/organization-directory.ts';
import type { UserRecord } from '../users/users.repository.ts';

export interface SessionSettings {
  access: AccessTokenSettings;
  /** Absolute lifetime of a session (and so of its refresh tokens). */
  sessionTtlSeconds: number;
  /**
   * Concurrent refreshes: a rotated token presented again within this many seconds gets fresh tokens
   * instead of ending the session (two tabs refreshing at once). Documented in the README.
   */
  refreshGraceSeconds: number;
}

export interface IssuedTokens {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  user: UserRecord;
}

export type RevokeReason =
  'logout' | 'user' | 'password_reset' | 'password_change' | 'refresh_reuse' | 'erasure' | 'admin';

export class SessionService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly store: Store,
    private readonly signingKey: SigningKey,
    private readonly settings: SessionSettings,
    private readonly audit: AuditLog,
    /** Raw statements straight on the pool (the login's). */
    private readonly query: Database['query'],
    private readonly organizations: OrganizationDirectory,
  ) {}

  /** Starts a session for a login and records `event` (login.succeeded) with it. */
  async start(user: UserRecord, client: ClientInfo, event: AuditRecord): Promise<IssuedTokens> {
    const expiresAt = new Date(Date.now() + this.settings.sessionTtlSeconds * 1000);
    const refreshToken = `rt_${randomSecret()}`;
    const sessionId = randomUUID();
    const claims = organizationClaims(user, await lookUpMemberships(this.organizations, user.id), null);
    // Login is the hot path: the session, its first refresh token, the audit event and last_login_at in one
    // statement (atomic, one round trip) instead of a transaction of four and a separate audit insert; on the
    // pool, without Prisma's client.
    await this.query(Prisma.sql`
      WITH session AS (
        INSERT INTO "identity"."sessions" ("id", "user_id", "user_agent", "ip", "organization_id", "expires_at")
        VALUES (${sessionId}::uuid, ${user.id}::uuid, ${client.userAgent}, ${client.ip},
                ${claims.organizationId}::uuid, ${expiresAt})
        RETURNING "id"
      ), token AS (
        INSERT INTO "identity"."refresh_tokens" ("id", "session_id", "token_hash", "expires_at")
        SELECT ${randomUUID()}::uuid, "id", ${sha256(refreshToken)}, ${expiresAt} FROM session
      ), audit AS (${this.audit.insert(event)})
      UPDATE "identity"."users" SET "last_login_at" = now() WHERE "id" = ${user.id}::uuid`);
    return this.issue(user, { id: sessionId, expiresAt }, claims, refreshToken);
  }

  async refresh(rawToken: string, client: ClientInfo, loadUser: (id: string) => Promise<UserRecord | null>) {
    const token = await this.prisma.refreshToken.findUnique({
      where: { tokenHash: sha256(rawToken) },
      include: { session: true },
    });
    const now = Date.now();
    if (
      !token ||
      token.session.revokedAt ||
      token.session.expiresAt.getTime() <= now ||
      token.expiresAt.getTime() <= now
    ) {
      throw unauthenticated('Invalid or expired refresh token');
    }
    const session = token.session;
    if (token.rotatedAt === null) {
      // Claim the rotation atomically: of two concurrent refreshes with this token, one wins here.
      const claimed = await this.prisma.refreshToken.updateMany({
        where: { id: token.id, rotatedAt: null },
        data: { rotatedAt: new Date(now) },
      });
      if (claimed.count === 0) token.rotatedAt = new Date(now);
    }
    if (token.rotatedAt !== null && now - token.rotatedAt.getTime() > this.settings.refreshGraceSeconds * 1000) {
      await this.revoke(session.id, 'refresh_reuse');
      await this.audit.record({
        type: 'refresh_token.reused',
        userId: session.userId,
        client,
        metadata: { sessionId: session.id },
      });
      throw unauthenticated('Refresh token reuse detected; the session has been ended');
    }
    const user = await loadUser(session.userId);
    if (!user) throw unauthenticated('Invalid or expired refresh token');
    // Roles may have changed since the last token: ask again (the session keeps its organization if still a member).
    const claims = organizationClaims(
      user,
      await lookUpMemberships(this.organizations, user.id),
      session.organizationId,
    );
    const refreshToken = `rt_${randomSecret()}`;
    await this.prisma.$transaction([
      this.prisma.refreshToken.create({
        data: { sessionId: session.id, tokenHash: sha256(refreshToken), expiresAt: session.expiresAt },
      }),
      this.prisma.session.update({
        where: { id: session.id },
        data: { lastUsedAt: new Date(now), ip: client.ip || session.ip, organizationId: claims.organizationId },
      }),
    ]);
    return this.issue(user, session, claims, refreshToken);
  }

  /**
   * Makes another of the user's organizations the session's current one: a new access token with that
   * organization's roles and scopes (the refresh token stays; later refreshes keep the organization).
   */
  async switchOrganization(sessionId: string, user: UserRecord, organizationId: string) {
    const lookup = await lookUpMemberships(this.organizations, user.id);
    if (!lookup.memberships.some((m) => m.organizationId === organizationId)) throw notFound('No such organization');
    const claims = organizationClaims(user, lookup, organizationId);
    const session = await this.findActive(sessionId);
    if (!session) throw unauthenticated('Session ended');
    await this.prisma.session.update({ where: { id: sessionId }, data: { organizationId, lastUsedAt: new Date() } });
    return {
      accessToken: await this.sign(user, sessionId, claims),
      tokenType: 'Bearer' as const,
      expiresIn: this.settings.access.ttlSeconds,
      organizationId,
    };
  }

  private sign(user: UserRecord, sessionId: string, claims: OrganizationClaims): Promise<string> {
    return signAccessToken(this.signingKey, this.settings.access, {
      userId: user.id,
      sessionId,
      email: user.email,
      ...claims,
    });
  }

  private async issue(
    user: UserRecord,
    session: { id: string; expiresAt: Date },
    claims: OrganizationClaims,
    refreshToken: string,
  ): Promise<IssuedTokens> {
    const accessToken = await this.sign(user, session.id, claims);
    return {
      accessToken,
      tokenType: 'Bearer',
      expiresIn: this.settings.access.ttlSeconds,
      refreshToken,
      refreshExpiresIn: Math.max(0, Math.floor((session.expiresAt.getTime() - Date.now()) / 1000)),
      user,
    };
  }

  /** Ends a session: its refresh tokens stop working now, its access tokens at the gateway within a second. */
  async revoke(sessionId: string, reason: RevokeReason, db: Db = this.prisma): Promise<boolean> {
    const result = await db.session.updateMany({
      where: { id: sessionId, revokedAt: null },
      data: { revokedAt: new Date(), revokedReason: reason },
    });
    await this.markRevoked([sessionId]);
    return result.count > 0;
  }

  /** Ends every live session of a user, except `keep`; returns how many were ended. */
  async revokeAll(userId: string, reason: RevokeReason, keep?: string | null): Promise<number> {
    const sessions = await this.prisma.session.findMany({
      where: { userId, revokedAt: null, ...(keep ? { id: { not: keep } } : {}) },
      select: { id: true },
    });
    if (sessions.length === 0) return 0;
    const ids = sessions.map((s) => s.id);
    await this.prisma.session.updateMany({
      where: { id: { in: ids }, revokedAt: null },
      data: { revokedAt: new Date(), revokedReason: reason },
    });
    await this.markRevoked(ids);
    return ids.length;
  }

  /** Ends the caller's own session (logout); false when it had already ended. */
  async logout(sessionId: string, userId: string | null, client: ClientInfo): Promise<boolean> {
    const ended = await this.revoke(sessionId, 'logout');
    await this.audit.record({ type: 'session.logout', userId, client });
    return ended;
  }

  /** Ends one of the user's sessions; another user's session looks exactly like a missing one. */
  async revokeOwn(userId: string, sessionId: string, client: ClientInfo): Promise<void> {
    const session = isUuid(sessionId) ? await this.findActive(sessionId) : null;
    if (!session || session.userId !== userId) throw badUserInput('No such session', 'id');
    await this.revoke(sessionId, 'user');
    await this.audit.record({ type: 'session.revoked', userId, client, metadata: { sessionId } });
  }

  /** Ends every session of the user but `keep` (the current one); returns how many were ended. */
  async revokeOthers(userId: string, keep: string | null, client: ClientInfo): Promise<number> {
    const ended = await this.revokeAll(userId, 'user', keep);
    await this.audit.record({ type: 'sessions.revoked_others', userId, client, metadata: { ended } });
    return ended;
  }

  private async markRevoked(sessionIds: string[]): Promise<void> {
    // Long enough to outlive every access token of the session.
    const ttlMs = (this.settings.access.ttlSeconds + 60) * 1000;
    await Promise.all(sessionIds.map((id) => this.store.set(revokedSessionKey(id), '1', { ttlMs })));
  }

  listActive(userId: string) {
    return this.prisma.session.findMany({
      where: { userId, revokedAt: null, expiresAt: { gt: new Date() } },
      orderBy: { lastUsedAt: 'desc' },
    });
  }

  findActive(sessionId: string) {
    return this.prisma.session.findFirst({ where: { id: sessionId, revokedAt: null, expiresAt: { gt: new Date() } } });
  }
}
