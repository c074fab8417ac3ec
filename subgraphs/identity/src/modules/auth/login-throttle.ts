// Brute-force protection of logins that cannot be raced (the ticket pattern of attempt-throttle.ts): each login
// attempt takes a ticket in the shared store before the password is checked. Keys are by email whether or not
// the account exists, so locking reveals nothing. Locks grow (15 min, 30, 60 … up to 24 h), keeping failures far
// below ASVS's 100 per hour. A per-IP window throttles one client trying many accounts.
//
// Smart lockout: a client that signed in to the account before presents its device token (device-tokens.ts).
// Its attempts are counted under that device, with their own limit, and ignore the account-wide lock that
// failures from unfamiliar clients caused: anyone can still lock the account against the world, but not against
// its owner's own devices. A familiar device's own failures lock that device.
import type { AtomicStep, Store } from '@g3d/store';

import { AttemptThrottle, type LockRecorder } from './attempt-throttle.ts';

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
  /** Attempts from unfamiliar clients, per email (`login:tickets:<email>`, …). */
  private readonly accounts: AttemptThrottle;
  /** Attempts from a familiar device, per device (`login-device:tickets:<device id>`, …). */
  private readonly devices: AttemptThrottle;

  constructor(
    private readonly store: Store,
    private readonly settings: ThrottleSettings = DEFAULT_THROTTLE,
    locks: LockRecorder | null = null,
  ) {
    const limits = {
      maxFailures: settings.maxFailures,
      windowMs: settings.windowMs,
      baseLockMs: settings.baseLockMs,
      maxLockMs: settings.maxLockMs,
    };
    this.accounts = new AttemptThrottle(store, 'login', limits, locks);
    this.devices = new AttemptThrottle(store, 'login-device', limits, locks);
  }

  private subject(email: string, deviceId?: string | null) {
    return deviceId ? { throttle: this.devices, key: deviceId } : { throttle: this.accounts, key: email };
  }

  /**
   * Takes a ticket for one attempt; call before checking the password, then `failed` or `succeeded` with the
   * same arguments. `deviceId`: the attempt comes from a familiar device of this account.
   */
  async begin(email: string, ip: string, deviceId?: string | null): Promise<Ticket> {
    const { throttle, key } = this.subject(email, deviceId);
    // One atomic store call: the per-IP window, the lock, then the ticket. As many attempts already in flight
    // or failed as may ever fail refuse this one without checking the password, and give the ticket back.
    const steps: AtomicStep[] = throttle.ticketSteps(key);
    if (ip)
      steps.unshift({ incr: `login:ip:${ip}`, ttlMs: this.settings.perIpWindowMs, max: this.settings.perIpLimit });
    const { refused } = await this.store.atomic(steps);
    if (!refused) return { ok: true };
    if (ip && refused.step === 0) {
      const ttl = refused.ttlMs ?? this.settings.perIpWindowMs;
      return { ok: false, reason: 'ip_throttled', retryAfterSeconds: Math.ceil(ttl / 1000) };
    }
    const step = steps[refused.step] as AtomicStep;
    return { ok: false, reason: 'account_locked', retryAfterSeconds: throttle.retryAfterSeconds(step, refused.ttlMs) };
  }

  /**
   * A wrong password. The ticket stays taken (it is now a failure). The failure that reaches the limit locks
   * the address (or the device) — for 15 min, doubling with each lock in the last 24 h; `lockedNow` is true for
   * exactly one caller, so the lock is audited once.
   */
  async failed(email: string, deviceId?: string | null): Promise<{ lockedNow: boolean }> {
    const { throttle, key } = this.subject(email, deviceId);
    const { lockedNow } = await throttle.failed(key);
    return { lockedNow };
  }

  /** A correct password: the failures are forgiven and their tickets, with this attempt's, given back. */
  async succeeded(email: string, deviceId?: string | null): Promise<void> {
    const { throttle, key } = this.subject(email, deviceId);
    await throttle.succeeded(key);
  }
}
