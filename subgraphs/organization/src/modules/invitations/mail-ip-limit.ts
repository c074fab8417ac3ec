// Invitations send mail: like identity's registration and reset mails, they are limited per client IP (the
// address the gateway saw), MAIL_IP_LIMIT per hour in one budget with identity's, counted in the shared store.
import { MAIL_IP_WINDOW_MS, mailRequestsFromIpKey } from '@g3d/auth';
import { AppError } from '@g3d/errors';
import type { Store } from '@g3d/store';

export class MailIpLimit {
  constructor(
    private readonly store: Store,
    private readonly limit: number,
  ) {}

  /** Counts one request that sends mail from `ip`; RATE_LIMITED over the limit. No IP (no gateway): no check. */
  async take(ip: string): Promise<void> {
    if (!ip) return;
    const { refused } = await this.store.atomic([
      { incr: mailRequestsFromIpKey(ip), ttlMs: MAIL_IP_WINDOW_MS, max: this.limit, undo: true },
    ]);
    if (!refused) return;
    throw new AppError('RATE_LIMITED', 'Too many requests sending mail from your network; try again later', {
      reason: 'MAIL_IP_LIMIT',
      retryAfterSeconds: Math.max(1, Math.ceil((refused.ttlMs ?? MAIL_IP_WINDOW_MS) / 1000)),
    });
  }
}
