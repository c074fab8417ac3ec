// The current-password check of a signed-in user (changePassword, beginMfaEnrollment, disableMfa, eraseMyAccount):
// someone holding a stolen access token must not be able to guess the password through it. Checks are counted
// per account in the shared store (attempt-throttle.ts): after 5 wrong passwords within 15 minutes every further
// check is refused with RATE_LIMITED (retryAfterSeconds) without looking at the password, for 15 minutes, doubling
// with each lock up to 24 h; the lock is audited once (`password.check_locked`).
import type { ClientInfo } from '@g3d/auth';
import { AppError, forbidden } from '@g3d/errors';
import { MAX_SECRET_LENGTH } from '@g3d/kit';

import type { AuditLog } from '../audit/audit.service.ts';
import type { AttemptThrottle } from './attempt-throttle.ts';
import { verifyPassword } from './passwords.ts';

export class CurrentPasswordCheck {
  constructor(
    private readonly deps: {
      /** Namespace `password-check`, per user id. */
      throttle: AttemptThrottle;
      audit: AuditLog;
    },
  ) {}

  /** Passes when `password` is the user's; FORBIDDEN (`message`) when it is not; RATE_LIMITED when throttled. */
  async require(
    user: { id: string; passwordHash: string },
    password: string,
    client: ClientInfo,
    message = 'The password is wrong',
  ): Promise<void> {
    // Input that can never be a password is refused without a hash, and is no guess: it takes no ticket.
    if (password.length === 0 || password.length > MAX_SECRET_LENGTH) throw forbidden(message);
    const { throttle, audit } = this.deps;
    const ticket = await throttle.begin(user.id);
    if (!ticket.ok) {
      throw new AppError('RATE_LIMITED', 'Too many wrong passwords; try again later', {
        reason: 'PASSWORD_CHECK_LOCKED',
        retryAfterSeconds: ticket.retryAfterSeconds,
      });
    }
    if (await verifyPassword(user.passwordHash, password)) {
      await throttle.succeeded(user.id);
      return;
    }
    const { lockedNow, lockMs } = await throttle.failed(user.id);
    if (lockedNow) {
      await audit.record({
        type: 'password.check_locked',
        userId: user.id,
        client,
        metadata: { failures: throttle.limits.maxFailures, lockedForSeconds: Math.round(lockMs / 1000) },
      });
    }
    throw forbidden(message);
  }
}
