// Platform administrators' plan input, checked field by field: every failure is BAD_USER_INPUT naming the field.
import { badUserInput } from '@g3d/errors';
import { cleanText } from '@g3d/kit';
import { AI_SERVICES } from '@g3d/manifest';

import type { PlanData } from './plans.repository.ts';

const FACTS = new Map<string, (typeof AI_SERVICES)[number]>(AI_SERVICES.map((s) => [s.slug, s]));
const MAX_QUOTA = 2_000_000_000;

export interface ServiceLimitInput {
  service: string;
  requests?: number | null;
  units?: number | null;
  rateLimitPer15Min?: number | null;
}

export interface PlanInput {
  id: string;
  name: string;
  description?: string | null;
  monthlyRequests?: number | null;
  seats?: number | null;
  projects?: number | null;
  apiCalls?: number | null;
  storageBytes?: string | null;
  includedServices: string[];
  services?: ServiceLimitInput[] | null;
  priceMonthlyCents?: number | null;
  priceYearlyCents?: number | null;
  currency?: string | null;
  trialDays?: number | null;
  sortOrder?: number | null;
  stripePriceMonthly?: string | null;
  stripePriceYearly?: string | null;
}

/** A whole number from 0 to `max`, or null (unlimited / none); undefined stays undefined. */
export function quota(value: number | null | undefined, field: string, max = MAX_QUOTA): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw badUserInput(`${field} must be a whole number from 0 to ${max}`, field);
  return value;
}

export function storage(value: string | null | undefined, field = 'storageBytes'): bigint | null | undefined {
  if (value === undefined || value === null) return value;
  if (!/^\d{1,19}$/.test(value) || BigInt(value) > 2n ** 63n - 1n)
    throw badUserInput(`${field} must be a number of bytes (a decimal string)`, field);
  return BigInt(value);
}

/** Known slugs, no repeats. */
export function serviceSlug(value: string, field: string): string {
  if (!FACTS.has(value)) throw badUserInput(`Unknown AI service ${value.slice(0, 64)}`, field);
  return value;
}

/** Per-service limits: only what is given is set (absent: the plan's default; null: unlimited). */
export function serviceLimits(input: ServiceLimitInput[], field: string) {
  const limits: Record<string, { requests?: number | null; units?: number | null; rateLimitPer15Min?: number }> = {};
  for (const [i, entry] of input.entries()) {
    const at = `${field}.${i}`;
    const slug = serviceSlug(entry.service, `${at}.service`);
    if (limits[slug]) throw badUserInput(`${slug} is listed twice`, `${at}.service`);
    if (entry.units != null && !FACTS.get(slug)?.meteredUnit)
      throw badUserInput(`${slug} counts requests only: it has no unit quota`, `${at}.units`);
    const own: (typeof limits)[string] = {};
    if (entry.requests !== undefined) own.requests = quota(entry.requests, `${at}.requests`);
    if (entry.units !== undefined) own.units = quota(entry.units, `${at}.units`);
    if (entry.rateLimitPer15Min != null)
      own.rateLimitPer15Min = quota(entry.rateLimitPer15Min, `${at}.rateLimitPer15Min`, 10_000_000) as number;
    limits[slug] = own;
  }
  return limits;
}

const STRIPE_PRICE = /^price_[A-Za-z0-9]{1,100}$/;

export function planData(input: PlanInput, fallbackSortOrder: number): PlanData {
  if (typeof input.id !== 'string' || !/^[a-z0-9-]{1,32}$/.test(input.id))
    throw badUserInput('id: 1–32 lowercase letters, digits and hyphens', 'id');
  const included = input.includedServices.map((s, i) => serviceSlug(s, `includedServices.${i}`));
  if (new Set(included).size !== included.length) throw badUserInput('A service is listed twice', 'includedServices');
  const stripePrice = (value: string | null | undefined, field: string) => {
    if (value != null && !STRIPE_PRICE.test(value)) throw badUserInput(`${field} must be a Stripe price id`, field);
    return value ?? null;
  };
  const currency = input.currency ?? 'usd';
  if (!/^[a-z]{3}$/.test(currency)) throw badUserInput('currency: an ISO 4217 code in lowercase', 'currency');
  return {
    id: input.id,
    name: cleanText(input.name, 'name', 64, { required: true }),
    description: cleanText(input.description ?? '', 'description', 500),
    monthlyRequests: quota(input.monthlyRequests, 'monthlyRequests') ?? null,
    seats: quota(input.seats, 'seats') ?? null,
    projects: quota(input.projects, 'projects') ?? null,
    apiCalls: quota(input.apiCalls, 'apiCalls') ?? null,
    storageBytes: storage(input.storageBytes) ?? null,
    includedServices: included,
    serviceLimits: serviceLimits(input.services ?? [], 'services'),
    priceMonthlyCents: quota(input.priceMonthlyCents, 'priceMonthlyCents', 100_000_000) ?? null,
    priceYearlyCents: quota(input.priceYearlyCents, 'priceYearlyCents', 1_000_000_000) ?? null,
    currency,
    trialDays: quota(input.trialDays, 'trialDays', 365) ?? 0,
    stripePriceMonthly: stripePrice(input.stripePriceMonthly, 'stripePriceMonthly'),
    stripePriceYearly: stripePrice(input.stripePriceYearly, 'stripePriceYearly'),
    sortOrder: quota(input.sortOrder, 'sortOrder', 1000) ?? fallbackSortOrder,
  };
}
