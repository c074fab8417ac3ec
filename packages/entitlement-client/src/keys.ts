// The store layout of entitlement decisions, one place for both writers (entitlement) and readers (the
// decision in the wrappers). Every key of an organization shares the hash tag {<organization id>}, so one
// organization's record and counters sit in one Redis Cluster slot; the decision script builds the counter keys
// from the base key it is given.

/** Fixed 15-minute windows (aligned to the epoch) for the per-caller rate limits of the registry. */
export const RATE_WINDOW_MS = 15 * 60_000;

/** Counters outlive their period by this much (a late reconciliation or a report may still read them). */
export const COUNTER_GRACE_MS = 2 * 86_400_000;

/** How long a decision with a client's idempotency key is remembered (a retry gets the first decision). */
export const REPLAY_TTL_MS = 24 * 3_600_000;

/** Channel on which a decision asks entitlement to (re)write an organization's record. */
export const REFRESH_CHANNEL = 'entitlement:refresh';

export const entitlementKeys = (organizationId: string) => {
  const base = `ent:{${organizationId}}:`;
  return {
    base,
    /** The record's header (record.ts); each included service's allowance is at `${base}s:<slug>`. */
    header: `${base}h`,
    /** The plan limits other subgraphs enforce (record.ts PlanLimits). */
    planLimits: `${base}l`,
    /** Held by the entitlement replica refreshing this organization (others skip the same request). */
    refreshing: `${base}refreshing`,
  };
};

/** Keys of the record and counters, as suffixes of the organization's base key (the scripts append the same). */
export const counterSuffix = {
  allowance: (service: string) => `s:${service}`,
  requests: (service: string, periodStart: number) => `q:${service}:${periodStart}`,
  units: (service: string, periodStart: number) => `u:${service}:${periodStart}`,
  apiCalls: (periodStart: number) => `a:${periodStart}`,
  rate: (callerId: string, service: string, window: number) => `r:${callerId}:${service}:${window}`,
  replay: (invocationId: string) => `i:${invocationId}`,
};

/** The rate window a time falls in, and when it ends. */
export function rateWindow(at: number): { window: number; start: number; end: number } {
  const window = Math.floor(at / RATE_WINDOW_MS);
  return { window, start: window * RATE_WINDOW_MS, end: (window + 1) * RATE_WINDOW_MS };
}

/** A request to refresh one organization's record: the decider's clock, so a period that just ended rolls over. */
export interface RefreshRequest {
  organizationId: string;
  at: number;
}
