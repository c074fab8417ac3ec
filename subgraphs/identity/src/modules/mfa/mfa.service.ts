// TOTP second factor (RFC 6238) with backup codes. The secret is encrypted at rest (secret-box, bound to the
// user id); a code is accepted once per time step, enforced by an atomic compare-and-set in the database.
// Every code check (login, regenerating backup codes, turning MFA off, erasure) goes through `verify`, which counts
// wrong codes per account across MFA challenges (attempt-throttle.ts): after 10 the second factor is locked —
// 15 min, doubling with each lock up to 24 h — even the right code is refused (RATE_LIMITED, reason
// SECOND_FACTOR_LOCKED), the lock is audited (`mfa.locked`) and the owner gets a mail: whoever is guessing knows
// the password.
import type { ClientInfo } from '@g3d/auth';
import type { PrismaClient } from '@g3d/db';
import { AppError, badUserInput, conflict, forbidden, unauthenticated } from '@g3d/errors';
import { cleanSecret } from '@g3d/kit';
import type { Mailer } from '@g3d/mail';

import type { AuditLog } from '../audit/audit.service.ts';
import type { AttemptThrottle } from '../auth/attempt-throttle.ts';
import type { SecondFactor } from '../auth/auth.service.ts';
import type { CurrentPasswordCheck } from '../auth/current-password.ts';
import { secondFactorLockedMail } from '../mail/templates.ts';
import type { CredentialsRepository, UserCredentials } from '../users/users.repository.ts';
import { generateBackupCodes, hashBackupCode, normalizeBackupCode } from './backup-codes.ts';
import type { SecretBox } from './secret-box.ts';
import { generateTotpSecret, otpauthUri, qrCodeDataUrl, verifyTotp } from './totp.ts';

const TOTP_CODE = /^[0-9]{6}$/;

export class MfaService implements SecondFactor {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      credentials: CredentialsRepository;
      audit: AuditLog;
      secretBox: SecretBox;
      issuer: string;
      /** Wrong codes per user id, across challenges (namespace `second-factor`). */
      throttle: AttemptThrottle;
      currentPassword: CurrentPasswordCheck;
      mailer: Mailer;
    },
  ) {}

  async beginEnrollment(userId: string, password: string, client: ClientInfo) {
    const user = await this.deps.credentials.findById(userId);
    if (!user) throw unauthenticated();
    await this.deps.currentPassword.require(user, password, client);
    if (user.mfaEnabled) throw conflict('MFA is already enabled; disable it first to enrol a new device');
    const secret = generateTotpSecret();
    await this.deps.prisma.user.update({
      where: { id: userId },
      data: { mfaSecret: this.deps.secretBox.seal(secret, userId), mfaLastTimeStep: null },
    });
    await this.deps.audit.record({ type: 'mfa.enrollment_started', userId, client });
    const uri = otpauthUri({ secret, accountName: user.email, issuer: this.deps.issuer });
    return { secret, otpauthUri: uri, qrCodeDataUrl: await qrCodeDataUrl(uri) };
  }

  async confirmEnrollment(userId: string, rawCode: string, client: ClientInfo) {
    const user = await this.deps.credentials.findById(userId);
    if (!user) throw unauthenticated();
    if (user.mfaEnabled) throw conflict('MFA is already enabled');
    if (!user.mfaSecret) throw badUserInput('Start enrolment first (beginMfaEnrollment)', 'code');
    if (!(await this.checkTotp(userId, user.mfaSecret, user.mfaLastTimeStep, rawCode, client))) {
      throw badUserInput('Invalid code', 'code');
    }
    const codes = generateBackupCodes();
    await this.deps.prisma.$transaction(async (tx) => {
      await tx.user.update({ where: { id: userId }, data: { mfaEnabled: true, mfaEnabledAt: new Date() } });
      await tx.backupCode.deleteMany({ where: { userId } });
      await tx.backupCode.createMany({
        data: codes.map((code) => ({ userId, codeHash: hashBackupCode(normalizeBackupCode(code) as string) })),
      });
      await this.deps.audit.record({ type: 'mfa.enabled', userId, client }, tx);
    });
    return { codes };
  }

  /**
   * The second factor at login (and for sensitive changes): a TOTP code or an unused backup code. The one place
   * codes are checked, so the one place they are counted.
   */
  async verify(userId: string, rawCode: string, client: ClientInfo): Promise<boolean> {
    const code = rawCode.trim();
    const user = await this.deps.credentials.findById(userId);
    if (!user?.mfaEnabled || !user.mfaSecret) return false;
    const { throttle } = this.deps;
    const ticket = await throttle.begin(userId);
    if (!ticket.ok) {
      throw new AppError('RATE_LIMITED', 'Too many wrong codes: the second factor is locked; try again later', {
        reason: 'SECOND_FACTOR_LOCKED',
        retryAfterSeconds: ticket.retryAfterSeconds,
      });
    }
    if (await this.check(user, user.mfaSecret, code, client)) {
      await throttle.succeeded(userId);
      return true;
    }
    const { lockedNow, lockMs } = await throttle.failed(userId);
    if (lockedNow) {
      const minutes = Math.round(lockMs / 60_000);
      await this.deps.audit.record({
        type: 'mfa.locked',
        userId,
        client,
        metadata: { failures: throttle.limits.maxFailures, lockedForSeconds: Math.round(lockMs / 1000) },
      });
      await this.deps.mailer.send(secondFactorLockedMail({ to: user.email, lockedForMinutes: minutes }));
    }
    return false;
  }

  private async check(user: UserCredentials, sealed: string, code: string, client: ClientInfo): Promise<boolean> {
    const userId = user.id;
    if (TOTP_CODE.test(code)) return this.checkTotp(userId, sealed, user.mfaLastTimeStep, code, client);
    const normalized = normalizeBackupCode(code);
    if (!normalized) {
      await this.deps.audit.record({ type: 'mfa.code_rejected', userId, client });
      return false;
    }
    const used = await this.deps.prisma.backupCode.updateMany({
      where: { userId, codeHash: hashBackupCode(normalized), usedAt: null },
      data: { usedAt: new Date() },
    });
    if (used.count !== 1) {
      await this.deps.audit.record({ type: 'mfa.code_rejected', userId, client, metadata: { kind: 'backup' } });
      return false;
    }
    const left = await this.deps.prisma.backupCode.count({ where: { userId, usedAt: null } });
    await this.deps.audit.record({ type: 'mfa.backup_code_used', userId, client, metadata: { remaining: left } });
    return true;
  }

  async regenerateBackupCodes(userId: string, code: string, client: ClientInfo) {
    if (!(await this.verify(userId, cleanSecret(code, 'code'), client))) throw forbidden('Invalid code');
    const codes = generateBackupCodes();
    await this.deps.prisma.$transaction(async (tx) => {
      await tx.backupCode.deleteMany({ where: { userId } });
      await tx.backupCode.createMany({
        data: codes.map((c) => ({ userId, codeHash: hashBackupCode(normalizeBackupCode(c) as string) })),
      });
      await this.deps.audit.record({ type: 'mfa.backup_codes_regenerated', userId, client }, tx);
    });
    return { codes };
  }

  async disable(userId: string, password: string, code: string, client: ClientInfo): Promise<void> {
    const user = await this.deps.credentials.findById(userId);
    if (!user) throw unauthenticated();
    if (!user.mfaEnabled) throw conflict('MFA is not enabled');
    await this.deps.currentPassword.require(user, password, client);
    if (!(await this.verify(userId, cleanSecret(code, 'code'), client))) throw forbidden('Invalid code');
    await this.deps.prisma.$transaction(async (tx) => {
      await tx.user.update({
        where: { id: userId },
        data: { mfaEnabled: false, mfaEnabledAt: null, mfaSecret: null, mfaLastTimeStep: null },
      });
      await tx.backupCode.deleteMany({ where: { userId } });
      await this.deps.audit.record({ type: 'mfa.disabled', userId, client }, tx);
    });
  }

  /** Verifies a TOTP code and claims its time step; a valid code whose step was already used is a replay. */
  private async checkTotp(userId: string, sealed: string, lastStep: bigint | null, code: string, client: ClientInfo) {
    const secret = this.deps.secretBox.open(sealed, userId);
    const result = await verifyTotp({ secret, code, lastTimeStep: null });
    if (!result.valid) {
      await this.deps.audit.record({ type: 'mfa.code_rejected', userId, client });
      return false;
    }
    const fresh =
      (lastStep === null || BigInt(result.timeStep) > lastStep) &&
      (await this.deps.credentials.claimTimeStep(userId, result.timeStep));
    if (!fresh) {
      await this.deps.audit.record({
        type: 'mfa.code_replayed',
        userId,
        client,
        metadata: { timeStep: result.timeStep },
      });
      return false;
    }
    return true;
  }
}
