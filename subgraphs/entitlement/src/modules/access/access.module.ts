// Organization.entitlements (members) and User.serviceAccess (the caller): what may be used now, and why not.
import { isAuthenticated, isPublic } from '@g3d/auth';
import { defineModule, isUuid, loadSdl } from '@g3d/kit';
import { AI_SERVICES } from '@g3d/manifest';

import type { EntitlementContext } from '../../context.ts';
import type { EntitlementsView } from './access.service.ts';
import { isCaller, memberOfParent } from './rules.ts';

const FACTS = new Map<string, (typeof AI_SERVICES)[number]>(AI_SERVICES.map((s) => [s.slug, s]));

export const accessModule = defineModule<EntitlementContext>({
  name: 'access',
  typeDefs: loadSdl(import.meta.url, './schema.graphql'),
  rules: {
    Organization: { entitlements: memberOfParent },
    // Reachable only through the guarded fields above and the platform administrators' mutations.
    Entitlements: isAuthenticated,
    ServiceEntitlement: isAuthenticated,
    ServiceAccess: isAuthenticated,
    User: { id: isAuthenticated, serviceAccess: isCaller },
    // The registry is public (what exists); `access` is the caller's own (ServiceAccess: signed in only).
    Query: { services: isPublic },
    AiServiceListing: isPublic,
  },
  resolvers: {
    Organization: {
      entitlements: (org: { id: string }, _a, ctx) => (isUuid(org.id) ? ctx.entitlements(org.id.toLowerCase()) : null),
    },
    Entitlements: {
      plan: (v: EntitlementsView) => v.subscription.plan,
      status: (v: EntitlementsView) => v.subscription.status.toUpperCase(),
      suspended: (v: EntitlementsView) => v.subscription.suspended,
      periodStart: (v: EntitlementsView) => v.subscription.currentPeriodStart,
      periodEnd: (v: EntitlementsView) => v.subscription.currentPeriodEnd,
      seats: (v: EntitlementsView) => v.limits.seats,
      projects: (v: EntitlementsView) => v.limits.projects,
      storageBytes: (v: EntitlementsView) => v.limits.storageBytes?.toString() ?? null,
      apiCalls: (v: EntitlementsView) => v.limits.apiCalls,
      apiCallsUsed: (v: EntitlementsView) => v.usage.apiCalls,
      services: (v: EntitlementsView) =>
        v.limits.services.map((s) => {
          const facts = FACTS.get(s.service);
          const used = v.usage.services[s.service] ?? { requests: 0, units: 0 };
          return {
            ...s,
            name: facts?.name ?? s.service,
            unit: facts?.meteredUnit ?? null,
            units: facts?.meteredUnit ? s.units : null,
            requestsUsed: used.requests,
            unitsUsed: used.units,
          };
        }),
    },
    User: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      serviceAccess: (_user: { id: string }, _a, ctx) => ctx.services.access.serviceAccess(ctx.caller),
    },
    Query: {
      services: async (_p, _a, ctx) => {
        const access = ctx.caller.kind === 'anonymous' ? null : await ctx.services.access.serviceAccess(ctx.caller);
        return AI_SERVICES.map((s) => ({
          slug: s.slug,
          name: s.name,
          domain: s.domain,
          role: s.role,
          readScope: `${s.scope}:read`,
          writeScope: `${s.scope}:write`,
          rateLimitPer15Min: s.rateLimitPer15Min,
          timeoutMs: s.timeoutSeconds * 1000,
          meteredUnit: s.meteredUnit,
          access: access?.find((a) => a.service === s.slug) ?? null,
        }));
      },
    },
  },
});
