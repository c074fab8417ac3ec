// Brute-force protection that cannot be raced. Each login attempt first takes a ticket with an atomic
// increment in the shared store, before the password is checked: tickets count attempts in flight plus
// failures, so of 100 concurrent attempts only `maxFailures` reach the password check. Successful attempts give
// their ticket back (a burst of correct logins never locks an account); failures keep it. Keys are by email whether or not
// the account exists, so locking reveals nothing. Locks grow (15 min, 30, 60 … up to 24 h), keeping failures
// far below ASVS's 100 per hour. A per-IP window throttles one client trying many accounts.
import type { AtomicStep, Store } from '@g3d/store';

export interface ThrottleSettings {
  maxFailures: number;
  windowMs: number;
  baseLockMs: number;
  maxLockMs: number;
  perIpLimit: number;
  perIpWindowMs: number;
}

export const DEFAULT_THROTTLE: ThrottleSettings = {
  maxFailures: 10,
  windowMs: 15 * 60_000,
  baseLockMs: 15 * 60_000,
  maxLockMs: 24 * 60 * 60_000,
  perIpLimit: 100,
  perIpWindowMs: 15 * 60_000,
};

export type Ticket = { ok: true } | { ok: false; reason: 'account_locked' | 'ip_throttled'; retryAfterSeconds: number };

export class LoginThrottle {
  constructor(
    private readonly store: Store,
    private readonly settings: ThrottleSettings = DEFAULT_THROTTLE,
  ) {}

  private keys(email: string) {
    return {
      // Attempts in flight plus failures in the window: the ticket counter that cannot be raced.
      tickets: `login:tickets:${email}`,
      failures: `login:failures:${email}`,
      lock: `login:lock:${email}`,
      level: `login:lock-level:${email}`,
    };
  }

  /** Takes a ticket for one attempt; call before checking the password, then `failed` or `succeeded`. */
  async begin(email: string, ip: string): Promise<Ticket> {
    const keys = this.keys(email);
    // One atomic store call: the per-IP window, the lock, then the ticket. As many attempts already in flight
    // or failed as may ever fail refuse this one without checking the password, and give the ticket back.
    const steps: AtomicStep[] = [
      { absent: keys.lock },
      { incr: keys.tickets, ttlMs: this.settings.windowMs, max: this.settings.maxFailures, undo: true },
    ];
    if (ip)
      steps.unshift({ incr: `login:ip:${ip}`, ttlMs: this.settings.perIpWindowMs, max: this.settings.perIpLimit });
    const { refused } = await this.store.atomic(steps);
    if (!refused) return { ok: true };
    const step = steps[refused.step] as AtomicStep;
    if ('absent' in step) {
      return {
        ok: false,
        reason: 'account_locked',
        retryAfterSeconds: Math.ceil((refused.ttlMs ?? this.settings.baseLockMs) / 1000),
      };
    }
    if (ip && refused.step === 0) {
      const ttl = refused.ttlMs ?? this.settings.perIpWindowMs;
      return { ok: false, reason: 'ip_throttled', retryAfterSeconds: Math.ceil(ttl / 1000) };
    }
    return { ok: false, reason: 'account_locked', retryAfterSeconds: Math.ceil(this.settings.windowMs / 60_000) * 60 };
  }

  /**
   * A wrong password. The ticket stays taken (it is now a failure). The failure that reaches the limit locks
   * the address — for 15 min, doubling with each lock in the last 24 h; `lockedNow` is true for exactly one
   * caller, so the lock is audited once.
   */
  async failed(email: string): Promise<{ lockedNow: boolean }> {
    const keys = this.keys(email);
    const failures = await this.store.incr(keys.failures, { ttlMs: this.settings.windowMs });
    if (failures < this.settings.maxFailures) return { lockedNow: false };
    if (!(await this.store.setIfAbsent(keys.lock, '1', { ttlMs: this.settings.baseLockMs })))
      return { lockedNow: false };
    const level = await this.store.incr(keys.level, { ttlMs: this.settings.maxLockMs });
    const lockMs = Math.min(this.settings.baseLockMs * 2 ** (level - 1), this.settings.maxLockMs);
    if (lockMs !== this.settings.baseLockMs) await this.store.set(keys.lock, '1', { ttlMs: lockMs });
    return { lockedNow: true };
  }

  /** A correct password: the failures are forgiven and their tickets, with this attempt's, given back. */
  async succeeded(email: string): Promise<void> {
    const keys = this.keys(email);
    // One round trip when there were no failures (the usual case), a second to give their tickets back.
    // The window's ttl goes with the give-back: should the tickets key have expired while this attempt was in
    // flight, the give-back recreates it (at -1) and it must expire like any window, not stay forever.
    const ttlMs = this.settings.windowMs;
    const { values } = await this.store.atomic([{ take: keys.failures }, { incr: keys.tickets, by: -1, ttlMs }]);
    const recorded = Number(values[0] ?? 0);
    if (recorded !== 0) await this.store.incr(keys.tickets, { by: -recorded, ttlMs });
  }
}
