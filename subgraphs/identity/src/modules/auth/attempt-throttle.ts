// Failed secret checks counted per subject (an account, a device) in the shared store, so that guesses cannot
// be raced and every replica shares one budget. Each check first takes a ticket with an atomic increment,
// before the secret is looked at: tickets count checks in flight plus failures, so of 100 concurrent guesses only
// `maxFailures` reach the check. A correct secret gives its ticket back and forgives the failures; a wrong one
// keeps it. The failure that reaches the limit locks the subject — 15 min, doubling with each lock within a day,
// up to 24 h — and exactly one caller learns that it did (`lockedNow`), so the lock is audited once.
import type { AtomicStep, Store } from '@g3d/store';

export interface AttemptLimits {
  maxFailures: number;
  windowMs: number;
  baseLockMs: number;
  maxLockMs: number;
}

export const DEFAULT_ATTEMPT_LIMITS: AttemptLimits = {
  maxFailures: 10,
  windowMs: 15 * 60_000,
  baseLockMs: 15 * 60_000,
  maxLockMs: 24 * 60 * 60_000,
};

export type Attempt = { ok: true } | { ok: false; retryAfterSeconds: number };

/** Where locks are recorded durably (identity.security_locks), so a store that lost them gets them back. */
export interface LockRecorder {
  record(lockKey: string, until: Date): Promise<void>;
}

export class AttemptThrottle {
  /** Keys are `<namespace>:tickets:<subject>`, `…:failures:…`, `…:lock:…`, `…:lock-level:…`. */
  constructor(
    private readonly store: Store,
    private readonly namespace: string,
    readonly limits: AttemptLimits = DEFAULT_ATTEMPT_LIMITS,
    private readonly locks: LockRecorder | null = null,
  ) {}

  keys(subject: string) {
    return {
      // Checks in flight plus failures in the window: the ticket counter that cannot be raced.
      tickets: `${this.namespace}:tickets:${subject}`,
      failures: `${this.namespace}:failures:${subject}`,
      lock: `${this.namespace}:lock:${subject}`,
      level: `${this.namespace}:lock-level:${subject}`,
    };
  }

  /** The store steps that take a ticket (the lock, then the counter), to run alone or after other steps. */
  ticketSteps(subject: string): AtomicStep[] {
    const keys = this.keys(subject);
    return [
      { absent: keys.lock },
      { incr: keys.tickets, ttlMs: this.limits.windowMs, max: this.limits.maxFailures, undo: true },
    ];
  }

  /** When a ticket step refused: how long until a check may be tried again. */
  retryAfterSeconds(step: AtomicStep, ttlMs: number | null): number {
    const fallback = 'absent' in step ? this.limits.baseLockMs : this.limits.windowMs;
    return Math.max(1, Math.ceil((ttlMs ?? fallback) / 1000));
  }

  /** Takes a ticket for one check; call before looking at the secret, then `failed` or `succeeded`. */
  async begin(subject: string): Promise<Attempt> {
    const steps = this.ticketSteps(subject);
    const { refused } = await this.store.atomic(steps);
    if (!refused) return { ok: true };
    return { ok: false, retryAfterSeconds: this.retryAfterSeconds(steps[refused.step] as AtomicStep, refused.ttlMs) };
  }

  /**
   * A wrong secret. The ticket stays taken (it is now a failure). The failure that reaches the limit locks the
   * subject; `lockedNow` is true for exactly one caller, with the lock's length.
   */
  async failed(subject: string): Promise<{ lockedNow: boolean; lockMs: number }> {
    const keys = this.keys(subject);
    const failures = await this.store.incr(keys.failures, { ttlMs: this.limits.windowMs });
    if (failures < this.limits.maxFailures) return { lockedNow: false, lockMs: 0 };
    if (!(await this.store.setIfAbsent(keys.lock, '1', { ttlMs: this.limits.baseLockMs })))
      return { lockedNow: false, lockMs: 0 };
    const level = await this.store.incr(keys.level, { ttlMs: this.limits.maxLockMs });
    const lockMs = Math.min(this.limits.baseLockMs * 2 ** (level - 1), this.limits.maxLockMs);
    if (lockMs !== this.limits.baseLockMs) await this.store.set(keys.lock, '1', { ttlMs: lockMs });
    await this.locks?.record(keys.lock, new Date(Date.now() + lockMs));
    return { lockedNow: true, lockMs };
  }

  /** A correct secret: the failures are forgiven and their tickets, with this check's, given back. */
  async succeeded(subject: string): Promise<void> {
    const keys = this.keys(subject);
    // One round trip when there were no failures (the usual case), a second to give their tickets back.
    // The window's ttl goes with the give-back: should the tickets key have expired while this check was in
    // flight, the give-back recreates it (at -1) and it must expire like any window, not stay forever.
    const ttlMs = this.limits.windowMs;
    const { values } = await this.store.atomic([{ take: keys.failures }, { incr: keys.tickets, by: -1, ttlMs }]);
    const recorded = Number(values[0] ?? 0);
    if (recorded !== 0) await this.store.incr(keys.tickets, { by: -recorded, ttlMs });
  }
}
