// The invocation gate a wrapper puts around each AI operation: decide (one store round trip), refuse with the
// decision's error, or run the operation; either way record the invocation's usage durably before answering.
import { createHash, randomUUID } from 'node:crypto';

import { type Caller, hasScopes, missingScope } from '@g3d/auth';
import type { UsageStatus } from '@g3d/contracts';
import { AppError } from '@g3d/errors';

import type { EntitlementDecider } from './decider.ts';
import { type Decision, type Limit, refusalError } from './decision.ts';
import type { UsageMeter, UsageRecord } from './meter.ts';

export interface Invocation {
  service: string;
  /** The operation invoked (a root field, e.g. `videoAi`). */
  operation: string;
  units?: number;
  /** The client's Idempotency-Key: a retry with it is decided and recorded once. */
  idempotencyKey?: string | null;
  /**
   * Scopes the operation needs (the service's write scope): a caller without them is refused FORBIDDEN
   * MISSING_SCOPE before the decision, and the refusal is metered like the decision's own.
   */
  requiredScopes?: readonly string[];
}

/** What the response tells the client about a service after an invocation (extensions and headers). */
export interface EntitlementSummary {
  service: string;
  rateLimit: Limit | null;
  requests: Limit | null;
  units: Limit | null;
  apiCalls: Limit | null;
}

export interface InvocationGate {
  /**
   * Runs `work` if the decision allows it, recording the usage (allowed or refused, with latency and outcome)
   * before returning or throwing. `report` receives the decision's limits for the response.
   */
  invoke<T>(
    caller: Caller,
    invocation: Invocation,
    work: () => Promise<T>,
    report?: (summary: EntitlementSummary) => void,
  ): Promise<T>;
}

const STATUS_OF: Record<string, UsageStatus> = {
  RATE_LIMITED: 'RATE_LIMITED',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  FORBIDDEN: 'FORBIDDEN',
};

/** The invocation id of a client's idempotency key: the same for every retry of the same call by the same caller. */
export function invocationIdFor(parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  // A UUID (version 8: custom) from the hash, so the ledger's uuid key holds it.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16] as string, 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function createInvocationGate(options: { decider: EntitlementDecider; meter: UsageMeter }): InvocationGate {
  const { decider, meter } = options;
  return {
    async invoke<T>(
      caller: Caller,
      invocation: Invocation,
      work: () => Promise<T>,
      report?: (summary: EntitlementSummary) => void,
    ): Promise<T> {
      if (caller.kind === 'anonymous' || !caller.userId) {
        throw new AppError('UNAUTHENTICATED', 'Sign in (or use an API key) to invoke an AI service');
      }
      const organizationId = caller.organizationId;
      if (!organizationId) {
        // No organization, no plan to bill: platform administrators included.
        throw new AppError(
          'FORBIDDEN',
          'AI services are invoked on behalf of an organization: call switchOrganization(organizationId) first',
          { reason: 'NO_ORGANIZATION' },
        );
      }
      const key = invocation.idempotencyKey ?? null;
      const invocationId = key
        ? invocationIdFor([organizationId, caller.userId, invocation.service, invocation.operation, key])
        : randomUUID();
      const started = performance.now();
      const common = {
        invocationId,
        organizationId,
        userId: caller.userId,
        apiKeyId: caller.apiKeyId ?? null,
        callerKind: caller.kind === 'apiKey' ? ('apiKey' as const) : ('user' as const),
        service: invocation.service,
        operation: invocation.operation,
        units: invocation.units ?? 0,
      };
      /** Records the invocation's usage: what it was, with its outcome and latency so far. */
      const record = (outcome: Omit<UsageRecord, keyof typeof common | 'latencyMs'>) =>
        meter.record({ ...common, ...outcome, latencyMs: Math.round(performance.now() - started) });
      if (invocation.requiredScopes && !hasScopes(caller, invocation.requiredScopes)) {
        await record({
          status: 'FORBIDDEN',
          reason: 'MISSING_SCOPE',
          succeeded: false,
          occurredAt: new Date().toISOString(),
          periodStart: null,
          periodEnd: null,
          thresholds: [],
        });
        throw missingScope(caller, invocation.requiredScopes);
      }
      const decision = await decider.authorize({
        organizationId,
        callerId: caller.userId,
        service: invocation.service,
        units: invocation.units ?? 0,
        invocationId,
        replayable: key !== null,
      });
      if (decision.limits) report?.(summaryOf(decision));
      const usage = (status: UsageStatus, succeeded: boolean) =>
        record({
          status,
          reason: decision.refusal?.reason ?? null,
          succeeded,
          occurredAt: decision.decidedAt.toISOString(),
          periodStart: decision.period?.start.toISOString() ?? null,
          periodEnd: decision.period?.end.toISOString() ?? null,
          thresholds: decision.thresholds,
        });
      if (!decision.allowed) {
        await usage(STATUS_OF[decision.refusal?.code ?? 'FORBIDDEN'] ?? 'FORBIDDEN', false);
        throw refusalError(decision);
      }
      let result: T | undefined;
      let failure: unknown = null;
      try {
        result = await work();
      } catch (error) {
        failure = error ?? new Error('the operation failed');
      }
      await usage('ALLOWED', failure === null);
      if (failure !== null) throw failure;
      return result as T;
    },
  };
}

function summaryOf(decision: Decision): EntitlementSummary {
  return {
    service: decision.service,
    rateLimit: decision.limits?.rateLimit ?? null,
    requests: decision.limits?.requests ?? null,
    units: decision.limits?.units ?? null,
    apiCalls: decision.limits?.apiCalls ?? null,
  };
}
