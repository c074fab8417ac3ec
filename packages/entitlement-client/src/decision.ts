// A decision as the wrappers see it, built from the decide script's reply (scripts.ts), and the error a refusal
// answers with. On the hot path of every invocation: plain loops, no closures per call.
import type { QuotaMetric } from '@g3d/contracts';
import { AppError } from '@g3d/errors';
import type { AiServiceFacts } from '@g3d/manifest';

import type { AuthorizeRequest } from './decider.ts';

/** One limit as the caller sees it after this decision; null limit and remaining: unlimited. */
export interface Limit {
  limit: number | null;
  used: number;
  remaining: number | null;
  resetSeconds: number;
}

export interface Threshold {
  metric: QuotaMetric;
  threshold: 80 | 100;
  used: number;
  limit: number;
}

export type RefusalReason =
  | 'SERVICE_RATE_LIMIT'
  | 'SERVICE_QUOTA'
  | 'UNIT_QUOTA'
  | 'API_CALL_ALLOWANCE'
  | 'PLAN_EXCLUDES_SERVICE'
  | 'SUBSCRIPTION_INACTIVE'
  | 'SUSPENDED';

export interface Decision {
  allowed: boolean;
  invocationId: string;
  service: string;
  /** The decider's clock when it decided: the usage record's time. */
  decidedAt: Date;
  /** A retry of an invocation already decided (replayable): nothing was counted again. */
  replayed: boolean;
  /** The usage period the decision fell in. */
  period: { start: Date; end: Date } | null;
  limits: { rateLimit: Limit; requests: Limit; units: Limit | null; apiCalls: Limit } | null;
  /** Quota thresholds (80 %, 100 %) this invocation's counting crossed. */
  thresholds: Threshold[];
  refusal: {
    code: 'RATE_LIMITED' | 'QUOTA_EXCEEDED' | 'FORBIDDEN';
    reason: RefusalReason;
    message: string;
    retryAfterSeconds: number | null;
  } | null;
}

export interface DecisionContext {
  request: AuthorizeRequest;
  facts: AiServiceFacts;
  units: number;
  at: number;
  replayed: boolean;
  windowEnd: number;
}

// On the hot path of every invocation: plain loops and no closures per call.

function limitOf(used: number, max: number, resetMs: number): Limit {
  const resetSeconds = resetMs > 0 ? Math.ceil(resetMs / 1000) : 0;
  if (max < 0) return { limit: null, used, remaining: null, resetSeconds };
  return { limit: max, used, remaining: max > used ? max - used : 0, resetSeconds };
}

/** Adds the thresholds a counter crossed going from used - by to used (only one addition crosses each). */
function crossed(into: Threshold[], metric: QuotaMetric, used: number, by: number, max: number): void {
  if (max <= 0 || by <= 0) return;
  const before = used - by;
  const eighty = Math.ceil((max * 80) / 100);
  if (before < eighty && used >= eighty) into.push({ metric, threshold: 80, used, limit: max });
  if (before < max && used >= max) into.push({ metric, threshold: 100, used, limit: max });
}

type Field = string | number | null | undefined;

/**
 * A Decision from one invocation's fields of the script's reply, read in place: `reply[offset + 0…9]` (kind,
 * metric, rate used, rate max, requests used, max, units used, max, API calls used, max), in the period `ps`–`pe`.
 */
export function decisionFrom(
  reply: readonly Field[],
  offset: number,
  ps: Field,
  pe: Field,
  context: DecisionContext,
): Decision {
  const { request, facts, units, at, replayed } = context;
  const kind = reply[offset + 0];
  if (kind === 'EXCLUDED' || kind === 'STATUS') {
    const status = String(reply[offset + 1] ?? '');
    const refusal =
      kind === 'EXCLUDED'
        ? {
            reason: 'PLAN_EXCLUDES_SERVICE' as const,
            message: `The organization's plan does not include ${facts.name}: upgrade the plan to use it`,
          }
        : status === 'suspended'
          ? { reason: 'SUSPENDED' as const, message: "The organization's AI services are suspended" }
          : {
              reason: 'SUBSCRIPTION_INACTIVE' as const,
              message: `The organization's subscription is ${status}: no AI service can be invoked`,
            };
    return {
      allowed: false,
      invocationId: request.invocationId,
      service: request.service,
      decidedAt: new Date(at),
      replayed,
      period: { start: new Date(Number(ps)), end: new Date(Number(pe)) },
      limits: null,
      thresholds: [],
      refusal: { code: 'FORBIDDEN', retryAfterSeconds: null, ...refusal },
    };
  }
  const end = Number(pe);
  const qc = Number(reply[offset + 4]);
  const q = Number(reply[offset + 5]);
  const uc = Number(reply[offset + 6]);
  const u = Number(reply[offset + 7]);
  const ac = Number(reply[offset + 8]);
  const api = Number(reply[offset + 9]);
  const limits = {
    rateLimit: limitOf(Number(reply[offset + 2]), Number(reply[offset + 3]), context.windowEnd - at),
    requests: limitOf(qc, q, end - at),
    units: facts.meteredUnit ? limitOf(uc, u, end - at) : null,
    apiCalls: limitOf(ac, api, end - at),
  };
  const allowed = kind === 'OK';
  const thresholds: Threshold[] = [];
  if (allowed && !replayed) {
    crossed(thresholds, 'requests', qc, 1, q);
    crossed(thresholds, 'units', uc, units, u);
    crossed(thresholds, 'apiCalls', ac, 1, api);
  }
  return {
    allowed,
    invocationId: request.invocationId,
    service: request.service,
    decidedAt: new Date(at),
    replayed,
    period: { start: new Date(Number(ps)), end: new Date(end) },
    limits,
    thresholds,
    refusal: allowed ? null : refusalOf(String(reply[offset + 1] ?? ''), facts, limits),
  };
}

function refusalOf(metric: string, facts: AiServiceFacts, limits: NonNullable<Decision['limits']>) {
  if (metric === 'rate') {
    return {
      code: 'RATE_LIMITED' as const,
      reason: 'SERVICE_RATE_LIMIT' as const,
      message: `Rate limit of ${limits.rateLimit.limit} ${facts.name} requests per 15 minutes reached; retry in ${limits.rateLimit.resetSeconds} s`,
      retryAfterSeconds: limits.rateLimit.resetSeconds,
    };
  }
  const quota =
    metric === 'apiCalls'
      ? { reason: 'API_CALL_ALLOWANCE' as const, what: `allowance of ${limits.apiCalls.limit} API calls` }
      : metric === 'units'
        ? { reason: 'UNIT_QUOTA' as const, what: `${facts.name} quota of ${limits.units?.limit} ${facts.meteredUnit}` }
        : { reason: 'SERVICE_QUOTA' as const, what: `${facts.name} quota of ${limits.requests.limit} requests` };
  return {
    code: 'QUOTA_EXCEEDED' as const,
    reason: quota.reason,
    message: `The organization's ${quota.what} for this period is used up`,
    retryAfterSeconds: limits.requests.resetSeconds,
  };
}

/** The error a refused decision answers with: its code, reason, service and when to retry. */
export function refusalError(decision: Decision): AppError {
  const refusal = decision.refusal;
  if (!refusal) throw new Error('the decision allowed the invocation');
  const limit =
    refusal.reason === 'SERVICE_RATE_LIMIT'
      ? decision.limits?.rateLimit
      : refusal.reason === 'API_CALL_ALLOWANCE'
        ? decision.limits?.apiCalls
        : refusal.reason === 'UNIT_QUOTA'
          ? (decision.limits?.units ?? undefined)
          : refusal.reason === 'SERVICE_QUOTA'
            ? decision.limits?.requests
            : undefined;
  return new AppError(refusal.code, refusal.message, {
    reason: refusal.reason,
    service: decision.service,
    ...(refusal.retryAfterSeconds !== null ? { retryAfterSeconds: refusal.retryAfterSeconds } : {}),
    ...(limit ? { remaining: limit.remaining ?? 0, resetSeconds: limit.resetSeconds } : {}),
  });
}
