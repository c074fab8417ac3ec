// GDPR / CCPA: data export and erasure. Erasure anonymizes the user row instead of deleting it, so the
// append-only audit log keeps a subject; everything personal is removed or overwritten.
import { type ClientInfo, randomSecret } from '@g3d/auth';
import { userErased } from '@g3d/contracts';
import type { PrismaClient } from '@g3d/db';
import { forbidden, unauthenticated } from '@g3d/errors';
import type { EventPublisher } from '@g3d/events';

import type { ApiKeysService } from '../api-keys/api-keys.service.ts';
import type { AuditLog } from '../audit/audit.service.ts';
import type { SecondFactor } from '../auth/auth.service.ts';
import type { CurrentPasswordCheck } from '../auth/current-password.ts';
import type { SessionService } from '../sessions/sessions.service.ts';
import { readPreferences } from '../users/preferences.ts';
import type { CredentialsRepository } from '../users/users.repository.ts';

export class AccountService {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      /** Identity's event publisher: `identity.user-erased` tells other subgraphs to drop what they hold. */
      events: EventPublisher;
      credentials: CredentialsRepository;
      sessions: SessionService;
      audit: AuditLog;
      secondFactor: SecondFactor;
      currentPassword: CurrentPasswordCheck;
      apiKeys: ApiKeysService;
    },
  ) {}

  async export(userId: string, client: ClientInfo) {
    const { prisma } = this.deps;
    const user = await prisma.user.findFirst({
      where: { id: userId, erasedAt: null },
      omit: { passwordHash: true, mfaSecret: true, mfaLastTimeStep: true },
    });
    if (!user) throw unauthenticated();
    const [sessions, apiKeys, auditEvents, mails, backupCodes] = await Promise.all([
      prisma.session.findMany({ where: { userId }, orderBy: { createdAt: 'desc' } }),
      prisma.apiKey.findMany({ where: { userId }, omit: { secretHash: true }, orderBy: { createdAt: 'desc' } }),
      prisma.auditEvent.findMany({ where: { userId }, orderBy: { createdAt: 'desc' } }),
      prisma.mailMessage.findMany({ where: { to: user.email }, orderBy: { createdAt: 'desc' } }),
      prisma.backupCode.count({ where: { userId, usedAt: null } }),
    ]);
    await this.deps.audit.record({ type: 'account.exported', userId, client });
    return {
      exportedAt: new Date().toISOString(),
      user: { ...user, preferences: readPreferences(user.preferences) },
      mfa: { enabled: user.mfaEnabled, unusedBackupCodes: backupCodes },
      sessions,
      apiKeys,
      auditEvents,
      mails,
    };
  }

  async erase(userId: string, input: { password: string; code?: string | null }, client: ClientInfo): Promise<void> {
    const user = await this.deps.credentials.findById(userId);
    if (!user) throw unauthenticated();
    await this.deps.currentPassword.require(user, input.password, client);
    if (user.mfaEnabled && !(input.code && (await this.deps.secondFactor.verify(userId, input.code, client)))) {
      throw forbidden('A valid TOTP or backup code is required');
    }
    const { prisma } = this.deps;
    await prisma.$transaction(async (tx) => {
      await tx.mailMessage.deleteMany({ where: { to: user.email } });
      await tx.userToken.deleteMany({ where: { userId } });
      await tx.backupCode.deleteMany({ where: { userId } });
      await tx.apiKey.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date() } });
      await tx.user.update({
        where: { id: userId },
        data: {
          email: `erased-${userId}@erased.invalid`,
          // Not a valid argon2 hash: no password can ever match.
          passwordHash: `!erased:${randomSecret(16)}`,
          firstName: '',
          lastName: '',
          displayName: 'Deleted user',
          roles: [],
          mfaEnabled: false,
          mfaSecret: null,
          mfaLastTimeStep: null,
          preferences: {},
          erasedAt: new Date(),
        },
      });
      await this.deps.audit.record({ type: 'account.erased', userId, client }, tx);
      // In the erasure's transaction: the event exists exactly when the erasure was committed.
      await this.deps.events.publish(tx, userErased, { userId });
    });
    await this.deps.sessions.revokeAll(userId, 'erasure');
    const keys = await prisma.apiKey.findMany({ where: { userId }, select: { id: true } });
    await this.deps.apiKeys.flagRevoked(keys.map((k) => k.id));
  }
}
