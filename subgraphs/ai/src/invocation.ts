// The entitlement decision around every AI invocation (packages/entitlement-client): the wrapper's context
// carries the invocation gate, and the limits each decision reported go back to the gateway in the response's
// `extensions.entitlements` (the gateway passes them to the client, with X-RateLimit-* / X-Quota-* headers).
import type { ApolloServerPlugin } from '@apollo/server';
import type { Database } from '@g3d/db';
import {
  createEntitlementDecider,
  createInvocationGate,
  type EntitlementSummary,
  type InvocationGate,
  UsageMeter,
} from '@g3d/entitlement-client';
import type { BaseContext } from '@g3d/kit';
import type { Store } from '@g3d/store';

export interface AiContext extends BaseContext {
  gate: InvocationGate;
  /** What each decision of this request reported, by service (the response's extensions). */
  entitlements: Map<string, EntitlementSummary>;
}

export interface AiRuntime {
  gate: InvocationGate;
  meter: UsageMeter;
}

/** One gate per process: decisions through the shared store, usage into the event log. */
export function createAiRuntime(options: { store: Store; db: Database; now?: () => number }): AiRuntime {
  const meter = new UsageMeter({ db: options.db });
  const decider = createEntitlementDecider({ store: options.store, ...(options.now ? { now: options.now } : {}) });
  return { gate: createInvocationGate({ decider, meter }), meter };
}

export function createAiContext(base: BaseContext, runtime: AiRuntime): AiContext {
  return { ...base, gate: runtime.gate, entitlements: new Map() };
}

/** Adds what the decisions reported to the response: `extensions.entitlements[service]`. */
export function entitlementExtensions(): ApolloServerPlugin<AiContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single' || contextValue.entitlements.size === 0) return;
          const result = response.body.singleResult;
          const reported = Object.fromEntries(
            [...contextValue.entitlements].map(([service, { rateLimit, requests, units, apiCalls }]) => [
              service,
              { rateLimit, requests, units, apiCalls },
            ]),
          );
          result.extensions = { ...result.extensions, entitlements: reported };
        },
      };
    },
  };
}
