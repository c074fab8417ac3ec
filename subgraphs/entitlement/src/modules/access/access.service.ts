// What an organization is entitled to now (plan ∩ overrides, with this period's usage from the store's
// counters) and which services a caller may invoke now and why not: plan ∩ overrides ∩ the caller's scopes,
// minus what quotas, the caller's rate limit, a suspension or the subscription's status forbid.
import type { Caller } from '@g3d/auth';
import { counterSuffix, entitlementKeys, rateWindow, readUsageCounters } from '@g3d/entitlement-client';
import { AI_SERVICES } from '@g3d/manifest';
import type { Store } from '@g3d/store';

import { type EffectiveLimits, effectiveLimits } from '../subscriptions/limits.ts';
import type { SubscriptionWithPlan } from '../subscriptions/subscriptions.repository.ts';
import type { SubscriptionsService } from '../subscriptions/subscriptions.service.ts';
import type { EntitlementSync } from '../sync/entitlement-sync.ts';

export interface EntitlementsView {
  organizationId: string;
  subscription: SubscriptionWithPlan;
  limits: EffectiveLimits;
  usage: { services: Record<string, { requests: number; units: number }>; apiCalls: number };
}

export type AccessReason =
  | 'NO_ORGANIZATION'
  | 'PLAN_EXCLUDES_SERVICE'
  | 'MISSING_SCOPE'
  | 'QUOTA_EXHAUSTED'
  | 'RATE_LIMITED'
  | 'SUSPENDED'
  | 'SUBSCRIPTION_INACTIVE';

export interface ServiceAccess {
  service: string;
  name: string;
  allowed: boolean;
  reason: AccessReason | null;
  requestsRemaining: number | null;
  unitsRemaining: number | null;
  rateLimitRemaining: number | null;
}

const SLUGS = AI_SERVICES.map((s) => s.slug);
const USABLE = new Set(['active', 'trialing', 'past_due']);
const left = (limit: number | null, used: number) => (limit === null ? null : Math.max(0, limit - used));

export class AccessService {
  constructor(
    private readonly deps: {
      store: Store;
      subscriptions: SubscriptionsService;
      sync: EntitlementSync;
      now: () => number;
    },
  ) {}

  async entitlements(organizationId: string): Promise<EntitlementsView> {
    const subscription = await this.deps.subscriptions.current(organizationId);
    // After a flush the counters come back from the ledger before they are read.
    await this.deps.sync.ensure(organizationId);
    const usage = await readUsageCounters(
      this.deps.store,
      organizationId,
      subscription.currentPeriodStart.getTime(),
      SLUGS,
    );
    return { organizationId, subscription, limits: effectiveLimits(subscription.plan, subscription), usage };
  }

  async serviceAccess(caller: Caller): Promise<ServiceAccess[]> {
    const organizationId = caller.organizationId;
    if (!organizationId || !caller.userId) {
      return AI_SERVICES.map((s) => ({
        service: s.slug,
        name: s.name,
        allowed: false,
        reason: 'NO_ORGANIZATION' as const,
        requestsRemaining: null,
        unitsRemaining: null,
        rateLimitRemaining: null,
      }));
    }
    const view = await this.entitlements(organizationId);
    const { window } = rateWindow(this.deps.now());
    const { base } = entitlementKeys(organizationId);
    const userId = caller.userId;
    const rateUsed = await Promise.all(
      SLUGS.map(async (slug) =>
        Number((await this.deps.store.get(base + counterSuffix.rate(userId, slug, window))) ?? 0),
      ),
    );
    const apiLeft = left(view.limits.apiCalls, view.usage.apiCalls);
    return AI_SERVICES.map((facts, i) => {
      const grant = view.limits.services.find((s) => s.service === facts.slug);
      const used = view.usage.services[facts.slug] ?? { requests: 0, units: 0 };
      const requestsRemaining = grant ? left(grant.requests, used.requests) : null;
      const unitsRemaining = grant && facts.meteredUnit ? left(grant.units, used.units) : null;
      const rateLimitRemaining = grant ? Math.max(0, grant.rateLimitPer15Min - (rateUsed[i] ?? 0)) : null;
      const reason: AccessReason | null = view.subscription.suspended
        ? 'SUSPENDED'
        : !USABLE.has(view.subscription.status)
          ? 'SUBSCRIPTION_INACTIVE'
          : !grant?.included
            ? 'PLAN_EXCLUDES_SERVICE'
            : !caller.scopes.includes(`${facts.scope}:read`)
              ? 'MISSING_SCOPE'
              : requestsRemaining === 0 || unitsRemaining === 0 || apiLeft === 0
                ? 'QUOTA_EXHAUSTED'
                : rateLimitRemaining === 0
                  ? 'RATE_LIMITED'
                  : null;
      return {
        service: facts.slug,
        name: facts.name,
        allowed: reason === null,
        reason,
        requestsRemaining,
        unitsRemaining,
        rateLimitRemaining,
      };
    });
  }
}
