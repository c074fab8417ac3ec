// A per-upstream circuit breaker: after a run of failed calls, callers are answered at once instead of each
// waiting out a timeout against an upstream that is down; after a cool-down a single trial call probes it.

export type CircuitState = 'closed' | 'open' | 'half-open';

/** What a finished call says about the upstream's health. */
export type CallVerdict =
  /** The upstream answered (a result, or a 4xx refusal of the input). */
  | 'healthy'
  /** A timeout, connection failure, 5xx or unusable response. */
  | 'failure'
  /** Nothing learned: the caller cancelled, or its own deadline cut the call short. */
  | 'neutral';

export type CircuitPermit = { allowed: true; trial: boolean } | { allowed: false; retryAfterMs: number };

export interface CircuitSettings {
  /** Consecutive failed calls that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one trial call is let through. */
  coolDownMs: number;
}

/** While a trial call is in flight, others are turned away for about this long (the trial's outcome is unknown). */
const TRIAL_RETRY_AFTER_MS = 1000;

export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #consecutiveFailures = 0;
  #openedAt: number | null = null;
  #trialInFlight = false;

  constructor(
    private readonly settings: CircuitSettings,
    private readonly now: () => number,
  ) {}

  get state(): CircuitState {
    return this.#state;
  }

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** Epoch ms when the circuit last opened, while it is open or half-open. */
  get openedAt(): number | null {
    return this.#openedAt;
  }

  /** Asks to make a call; an allowed permit must be handed back to `settle` exactly once. */
  acquire(): CircuitPermit {
    if (this.#state === 'closed') return { allowed: true, trial: false };
    if (this.#state === 'open') {
      const reopensAt = (this.#openedAt ?? 0) + this.settings.coolDownMs;
      const now = this.now();
      if (now < reopensAt) return { allowed: false, retryAfterMs: reopensAt - now };
      this.#state = 'half-open';
    }
    if (this.#trialInFlight) return { allowed: false, retryAfterMs: TRIAL_RETRY_AFTER_MS };
    this.#trialInFlight = true;
    return { allowed: true, trial: true };
  }

  settle(permit: { trial: boolean }, verdict: CallVerdict): void {
    if (permit.trial) this.#trialInFlight = false;
    if (verdict === 'neutral') return; // a cancelled trial leaves the circuit half-open: the next call is the trial
    if (verdict === 'healthy') {
      this.#state = 'closed';
      this.#consecutiveFailures = 0;
      this.#openedAt = null;
      return;
    }
    this.#consecutiveFailures += 1;
    const tripped = this.#state === 'closed' && this.#consecutiveFailures >= this.settings.failureThreshold;
    if (permit.trial || tripped) {
      this.#state = 'open';
      this.#openedAt = this.now();
    }
  }
}
