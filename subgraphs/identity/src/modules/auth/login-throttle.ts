// Brute-force protection that cannot be raced. Each login attempt first takes a ticket with an atomic
// increment in the shared store, before the password is checked: of 100 concurrent attempts only the first
// `maxFailures` reach the password check, the rest find the account locked. Keys are by email whether or not
// the account exists, so locking reveals nothing. Locks grow (15 min, 30, 60 … up to 24 h), keeping failures
// far below ASVS's 100 per hour. A per-IP window throttles one client trying many accounts.
import type { Store } from '@g3d/store';

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

export type Ticket =
  | { ok: true }
  | { ok: false; reason: 'account_locked' | 'ip_throttled'; retryAfterSeconds: number; lockedNow: boolean };

export class LoginThrottle {
  constructor(
    private readonly store: Store,
    private readonly settings: ThrottleSettings = DEFAULT_THROTTLE,
  ) {}

  private keys(email: string) {
    return { attempts: `login:attempts:${email}`, lock: `login:lock:${email}`, level: `login:lock-level:${email}` };
  }

  /** Takes a ticket for one attempt; call before checking the password. */
  async begin(email: string, ip: string): Promise<Ticket> {
    if (ip) {
      const fromIp = await this.store.incr(`login:ip:${ip}`, { ttlMs: this.settings.perIpWindowMs });
      if (fromIp > this.settings.perIpLimit) {
        const ttl = (await this.store.ttl(`login:ip:${ip}`)) ?? this.settings.perIpWindowMs;
        return { ok: false, reason: 'ip_throttled', retryAfterSeconds: Math.ceil(ttl / 1000), lockedNow: false };
      }
    }
    const keys = this.keys(email);
    const lockTtl = await this.store.ttl(keys.lock);
    if (lockTtl !== null)
      return { ok: false, reason: 'account_locked', retryAfterSeconds: Math.ceil(lockTtl / 1000), lockedNow: false };
    const attempt = await this.store.incr(keys.attempts, { ttlMs: this.settings.windowMs });
    if (attempt <= this.settings.maxFailures) return { ok: true };
    // Over the limit. Exactly one caller sees maxFailures + 1 (the increment is atomic): it sets the lock,
    // with a duration that doubles with each lock in the last 24 h, and reports it (lockedNow) for the audit.
    if (attempt === this.settings.maxFailures + 1) {
      const level = await this.store.incr(keys.level, { ttlMs: this.settings.maxLockMs });
      const lockMs = Math.min(this.settings.baseLockMs * 2 ** (level - 1), this.settings.maxLockMs);
      await this.store.set(keys.lock, '1', { ttlMs: lockMs });
      return { ok: false, reason: 'account_locked', retryAfterSeconds: Math.ceil(lockMs / 1000), lockedNow: true };
    }
    const ttl = (await this.store.ttl(keys.lock)) ?? this.settings.baseLockMs;
    return { ok: false, reason: 'account_locked', retryAfterSeconds: Math.ceil(ttl / 1000), lockedNow: false };
  }

  /** A correct password: the failure window starts over (earlier locks still count towards the next one). */
  async succeeded(email: string): Promise<void> {
    await this.store.del(this.keys(email).attempts);
  }
}
