// The default plan catalogue (reference: the original platform's plans). Seeded once; operators edit the
// table afterwards (platform administrators: upsertPlan). Free has the original defaults (1,000 requests per
// service, 1 GB, 1 seat, 3 projects, 10,000 API calls a period; chat-builder and translate-ai); the others scale
// them. Units quotas apply to the services that meter units (the registry's meteredUnit).
import { AI_SERVICES, type AiServiceSlug } from '@g3d/manifest';

import type { PlanData } from './plans.repository.ts';

const GB = 1024n ** 3n;

/** The plan an organization starts on, and returns to when a paid plan ends. */
export const FREE_PLAN_ID = 'free';

type Limits = { requests?: number | null; units?: number | null; rateLimitPer15Min?: number };

/** Unit quotas of the metered services at the free level; paid plans multiply them. */
const FREE_UNITS: Partial<Record<AiServiceSlug, number>> = {
  'chat-builder': 100_000,
  'translate-ai': 500_000,
  'code-forge': 100_000,
  'creative-studio': 100_000,
  'legal-ai': 100_000,
  documind: 500,
  'vision-pro': 1_000,
  'video-ai': 3_600,
  'voice-ai': 3_600,
  automl: 600,
};

function serviceLimits(options: { unitsFactor: number | null; rateFactor: number }): Record<string, Limits> {
  const limits: Record<string, Limits> = {};
  for (const facts of AI_SERVICES) {
    const own: Limits = {};
    const units = FREE_UNITS[facts.slug];
    if (facts.meteredUnit && units !== undefined)
      own.units = options.unitsFactor === null ? null : units * options.unitsFactor;
    if (options.rateFactor !== 1) own.rateLimitPer15Min = facts.rateLimitPer15Min * options.rateFactor;
    limits[facts.slug] = own;
  }
  return limits;
}

const ALL_SERVICES: string[] = AI_SERVICES.map((s) => s.slug);
const BASIC_SERVICES = ['chat-builder', 'translate-ai', 'code-forge', 'documind', 'creative-studio', 'legal-ai'];

export const DEFAULT_PLANS: PlanData[] = [
  {
    id: FREE_PLAN_ID,
    name: 'Free',
    description: 'Chat Builder and Translate AI, for trying the platform.',
    monthlyRequests: 1_000,
    storageBytes: 1n * GB,
    seats: 5,
    projects: 3,
    apiCalls: 10_000,
    includedServices: ['chat-builder', 'translate-ai'],
    serviceLimits: serviceLimits({ unitsFactor: 1, rateFactor: 1 }),
    priceMonthlyCents: 0,
    priceYearlyCents: 0,
    currency: 'usd',
    trialDays: 0,
    stripePriceMonthly: null,
    stripePriceYearly: null,
    sortOrder: 0,
  },
  {
    id: 'basic',
    name: 'Basic',
    description: 'The everyday services for small teams.',
    monthlyRequests: 10_000,
    storageBytes: 10n * GB,
    seats: 10,
    projects: 10,
    apiCalls: 100_000,
    includedServices: BASIC_SERVICES,
    serviceLimits: serviceLimits({ unitsFactor: 10, rateFactor: 1 }),
    priceMonthlyCents: 2_900,
    priceYearlyCents: 29_000,
    currency: 'usd',
    trialDays: 14,
    stripePriceMonthly: null,
    stripePriceYearly: null,
    sortOrder: 1,
  },
  {
    id: 'professional',
    name: 'Professional',
    description: 'All 16 services at the registry rate limits.',
    monthlyRequests: 100_000,
    storageBytes: 100n * GB,
    seats: 50,
    projects: 50,
    apiCalls: 1_000_000,
    includedServices: ALL_SERVICES,
    serviceLimits: serviceLimits({ unitsFactor: 100, rateFactor: 1 }),
    priceMonthlyCents: 19_900,
    priceYearlyCents: 199_000,
    currency: 'usd',
    trialDays: 14,
    stripePriceMonthly: null,
    stripePriceYearly: null,
    sortOrder: 2,
  },
  {
    id: 'enterprise',
    name: 'Enterprise',
    description: 'Every service without quotas, four times the rate limits; arranged with sales.',
    monthlyRequests: null,
    storageBytes: null,
    seats: null,
    projects: null,
    apiCalls: null,
    includedServices: ALL_SERVICES,
    serviceLimits: serviceLimits({ unitsFactor: null, rateFactor: 4 }),
    priceMonthlyCents: null,
    priceYearlyCents: null,
    currency: 'usd',
    trialDays: 0,
    stripePriceMonthly: null,
    stripePriceYearly: null,
    sortOrder: 3,
  },
  {
    id: 'custom',
    name: 'Custom',
    description: 'Configured per organization by platform administrators (overrides).',
    monthlyRequests: null,
    storageBytes: null,
    seats: null,
    projects: null,
    apiCalls: null,
    includedServices: [],
    serviceLimits: {},
    priceMonthlyCents: null,
    priceYearlyCents: null,
    currency: 'usd',
    trialDays: 0,
    stripePriceMonthly: null,
    stripePriceYearly: null,
    sortOrder: 4,
  },
];
