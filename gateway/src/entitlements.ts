// What the AI wrappers' entitlement decisions report (a subgraph response's `extensions.entitlements`, by service:
// rateLimit, requests, units, apiCalls — each { limit, used, remaining, resetSeconds }) reaches the client: in
// the response's `extensions.entitlements`, and for the tightest of them as headers — X-RateLimit-Limit /
// -Remaining / -Reset (the caller's 15-minute limit of the service) and X-Quota-Limit / -Remaining / -Reset (the
// organization's request quota for the period). Only well-formed entries pass.
import type { ApolloServerPlugin } from '@apollo/server';

interface Limit {
  limit: number | null;
  used: number;
  remaining: number | null;
  resetSeconds: number;
}

export type ServiceEntitlements = Record<string, Record<'rateLimit' | 'requests' | 'units' | 'apiCalls', Limit | null>>;

const SERVICE = /^[a-z0-9-]{1,64}$/;
const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const orNull = (v: unknown) => v === null || count(v);

function limitOf(value: unknown): Limit | null {
  if (value === null || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (!orNull(v.limit) || !count(v.used) || !orNull(v.remaining) || !count(v.resetSeconds)) return null;
  return {
    limit: v.limit as number | null,
    used: v.used as number,
    remaining: v.remaining as number | null,
    resetSeconds: v.resetSeconds as number,
  };
}

/** Adds a subgraph response's reported entitlements to the request's. */
export function collectEntitlements(into: ServiceEntitlements, extensions: Record<string, unknown> | undefined): void {
  const reported = extensions?.entitlements;
  if (!reported || typeof reported !== 'object') return;
  for (const [service, value] of Object.entries(reported as Record<string, unknown>).slice(0, 32)) {
    if (!SERVICE.test(service) || !value || typeof value !== 'object') continue;
    const v = value as Record<string, unknown>;
    into[service] = {
      rateLimit: limitOf(v.rateLimit),
      requests: limitOf(v.requests),
      units: limitOf(v.units),
      apiCalls: limitOf(v.apiCalls),
    };
  }
}

/** The limit with the least remaining among the services (a limited one before an unlimited one). */
function tightest(entries: ServiceEntitlements, kind: 'rateLimit' | 'requests'): Limit | null {
  let best: Limit | null = null;
  for (const entry of Object.values(entries)) {
    const limit = entry[kind];
    if (!limit || limit.limit === null || limit.remaining === null) continue;
    if (!best || limit.remaining < (best.remaining as number)) best = limit;
  }
  return best;
}

export function entitlementsPlugin<T extends { entitlements: ServiceEntitlements }>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          const entries = contextValue.entitlements;
          if (Object.keys(entries).length === 0) return;
          if (response.body.kind === 'single') {
            const result = response.body.singleResult;
            result.extensions = { ...result.extensions, entitlements: entries };
          }
          for (const [kind, prefix] of [
            ['rateLimit', 'x-ratelimit'],
            ['requests', 'x-quota'],
          ] as const) {
            const limit = tightest(entries, kind);
            if (!limit) continue;
            response.http.headers.set(`${prefix}-limit`, String(limit.limit));
            response.http.headers.set(`${prefix}-remaining`, String(limit.remaining));
            response.http.headers.set(`${prefix}-reset`, String(limit.resetSeconds));
          }
        },
      };
    },
  };
}
