// Entitlement's events: usage of the AI services (written by the decision library, packages/entitlement-client,
// in the wrappers' processes), quota thresholds and subscription changes (written by entitlement).
import { z } from 'zod';

import { defineEvent, uuid } from './define.ts';

/** Most units one invocation may meter (tokens, images, seconds, …). */
export const MAX_UNITS = 1_000_000_000;

export const USAGE_STATUSES = ['ALLOWED', 'RATE_LIMITED', 'QUOTA_EXCEEDED', 'FORBIDDEN'] as const;
export type UsageStatus = (typeof USAGE_STATUSES)[number];

export const QUOTA_METRICS = ['requests', 'units', 'apiCalls'] as const;
export type QuotaMetric = (typeof QUOTA_METRICS)[number];

export const QUOTA_THRESHOLDS = [80, 100] as const;

const threshold = z.object({
  metric: z.enum(QUOTA_METRICS),
  threshold: z.union([z.literal(80), z.literal(100)]),
  used: z.number().int().min(0),
  limit: z.number().int().min(0),
});

/** One invocation of an AI service, allowed or refused: a ledger row, written once by its invocation id. */
export const usageRecordSchema = z.object({
  invocationId: uuid(),
  organizationId: uuid(),
  userId: uuid().nullable(),
  apiKeyId: z.string().max(64).nullable(),
  callerKind: z.enum(['user', 'apiKey']),
  service: z.string().min(1).max(64),
  operation: z.string().min(1).max(128),
  /** Units of the service's metered unit asked for (0 for services that count requests only). */
  units: z.number().int().min(0).max(MAX_UNITS),
  status: z.enum(USAGE_STATUSES),
  reason: z.string().max(64).nullable(),
  /** The invocation's own outcome (false: allowed, then failed upstream). */
  succeeded: z.boolean(),
  latencyMs: z.number().int().min(0).max(86_400_000),
  occurredAt: z.iso.datetime(),
  /** The usage period the decision fell in (counted in, when allowed). */
  periodStart: z.iso.datetime().nullable(),
  periodEnd: z.iso.datetime().nullable(),
  /** Quota thresholds this invocation's counting crossed (the decision saw them; entitlement announces each once). */
  thresholds: z.array(threshold).max(6),
});

/** Most invocations one usage event carries. */
export const MAX_USAGE_BATCH = 500;

/**
 * Invocations of AI services, written to the event log before they are answered (a wrapper's process commits the
 * invocations answered together in one event), consumed into entitlement's usage ledger once per invocation id.
 */
export const usageRecorded = defineEvent(
  'entitlement.usage-recorded',
  z.object({ records: z.array(usageRecordSchema).min(1).max(MAX_USAGE_BATCH) }),
);

/** An organization's usage reached 80 % or 100 % of a quota in a period: announced once per threshold and period. */
export const quotaThresholdReached = defineEvent(
  'entitlement.quota-threshold-reached',
  z.object({
    organizationId: uuid(),
    /** The AI service, or null for the organization's API-call allowance (all services). */
    service: z.string().max(64).nullable(),
    metric: z.enum(QUOTA_METRICS),
    threshold: z.union([z.literal(80), z.literal(100)]),
    used: z.number().int().min(0),
    limit: z.number().int().min(0),
    periodStart: z.iso.datetime(),
    periodEnd: z.iso.datetime(),
  }),
);

/**
 * An organization's subscription or its effective limits changed (plan, status, overrides, period): the state
 * after the change. Organization reads its seat limit from here (one owner of plan limits).
 */
export const subscriptionChanged = defineEvent(
  'entitlement.subscription-changed',
  z.object({
    organizationId: uuid(),
    revision: z.number().int().min(0),
    change: z.enum([
      'created',
      'plan-changed',
      'downgrade-scheduled',
      'cancel-scheduled',
      'status-changed',
      'period-renewed',
      'trial-ended',
      'overrides-changed',
      'suspension-changed',
      'plan-edited',
    ]),
    planId: z.string().max(64),
    status: z.enum(['trialing', 'active', 'past_due', 'cancelled', 'inactive']),
    suspended: z.boolean(),
    currentPeriodStart: z.iso.datetime(),
    currentPeriodEnd: z.iso.datetime(),
    limits: z.object({
      seats: z.number().int().nullable(),
      projects: z.number().int().nullable(),
      /** Bytes as a decimal string (may exceed 2^53); null: unlimited. */
      storageBytes: z.string().nullable(),
      apiCalls: z.number().int().nullable(),
    }),
  }),
);
