// What an organization is entitled to: its plan, then the custom overrides platform administrators set for it.
// Per service: included or not, the request and unit quotas per period, the rate limit per caller per 15
// minutes (the registry's unless the plan or an override says otherwise). Plan-level limits: seats, projects,
// storage, API calls. JSON columns are read through these schemas; anything malformed counts as absent.
import type { Plan, Subscription } from '@g3d/db';
import { AI_SERVICES } from '@g3d/manifest';
import { z } from 'zod';

const quota = z.number().int().min(0).max(2_000_000_000).nullable();

export const serviceLimitSchema = z.object({
  requests: quota.optional(),
  units: quota.optional(),
  rateLimitPer15Min: z.number().int().min(0).max(10_000_000).optional(),
});
export const serviceLimitsSchema = z.record(z.string(), serviceLimitSchema);

export const overridesSchema = z.object({
  services: z.record(z.string(), serviceLimitSchema.extend({ included: z.boolean().optional() })).optional(),
  seats: quota.optional(),
  projects: quota.optional(),
  /** Bytes, as a decimal string. */
  storageBytes: z
    .string()
    .regex(/^\d{1,19}$/)
    .nullable()
    .optional(),
  apiCalls: quota.optional(),
});
export type Overrides = z.infer<typeof overridesSchema>;

export interface ServiceEntitlement {
  service: string;
  included: boolean;
  requests: number | null;
  units: number | null;
  rateLimitPer15Min: number;
}

export interface EffectiveLimits {
  services: ServiceEntitlement[];
  seats: number | null;
  projects: number | null;
  storageBytes: bigint | null;
  apiCalls: number | null;
}

export function planServiceLimits(plan: Pick<Plan, 'serviceLimits'>): z.infer<typeof serviceLimitsSchema> {
  const parsed = serviceLimitsSchema.safeParse(plan.serviceLimits);
  return parsed.success ? parsed.data : {};
}

export function parseOverrides(value: unknown): Overrides {
  const parsed = overridesSchema.safeParse(value);
  return parsed.success ? parsed.data : {};
}

const pick = <T>(values: { [k: string]: unknown }, key: string, fallback: T): T =>
  Object.hasOwn(values, key) && values[key] !== undefined ? (values[key] as T) : fallback;

/** Every AI service as a plan grants it (no overrides). */
export function planServices(plan: Plan): ServiceEntitlement[] {
  const limits = planServiceLimits(plan);
  return AI_SERVICES.map((facts) => {
    const own = limits[facts.slug] ?? {};
    return {
      service: facts.slug,
      included: plan.includedServices.includes(facts.slug),
      requests: pick<number | null>(own, 'requests', plan.monthlyRequests),
      units: pick<number | null>(own, 'units', null),
      rateLimitPer15Min: pick(own, 'rateLimitPer15Min', facts.rateLimitPer15Min),
    };
  });
}

/** The plan met with the organization's overrides. */
export function effectiveLimits(plan: Plan, subscription: Pick<Subscription, 'overrides'>): EffectiveLimits {
  const overrides = parseOverrides(subscription.overrides);
  const services = planServices(plan).map((base) => {
    const own = overrides.services?.[base.service] ?? {};
    return {
      service: base.service,
      included: pick(own, 'included', base.included),
      requests: pick(own, 'requests', base.requests),
      units: pick(own, 'units', base.units),
      rateLimitPer15Min: pick(own, 'rateLimitPer15Min', base.rateLimitPer15Min),
    };
  });
  const storage = pick<string | null | undefined>(overrides, 'storageBytes', undefined);
  return {
    services,
    seats: pick(overrides, 'seats', plan.seats),
    projects: pick(overrides, 'projects', plan.projects),
    storageBytes: storage === undefined ? plan.storageBytes : storage === null ? null : BigInt(storage),
    apiCalls: pick(overrides, 'apiCalls', plan.apiCalls),
  };
}
