// The plan limits organization enforces (seats today; projects and storage when those exist), read from the
// organization's entitlement record in the store: the copy entitlement keeps current after every change it
// commits, the same copy the AI decisions read. A missing or stale record is asked for and waited on (refresh.ts).
import type { Store } from '@g3d/store';

import { entitlementKeys } from './keys.ts';
import { decodeHeader, decodePlanLimits, type PlanLimits } from './record.ts';
import { entitlementUnavailable, requestRecord } from './refresh.ts';

export interface PlanLimitsOptions {
  /** The clock (epoch ms). */
  now?: () => number;
  /** How long to wait for entitlement to write a missing record (default 3 s). */
  refreshTimeoutMs?: number;
}

/** The organization's plan limits now (with its overrides); SERVICE_UNAVAILABLE when entitlement cannot say. */
export async function readPlanLimits(
  store: Store,
  organizationId: string,
  options: PlanLimitsOptions = {},
): Promise<PlanLimits> {
  const id = organizationId.toLowerCase();
  const keys = entitlementKeys(id);
  const at = (options.now ?? Date.now)();
  const read = async () => {
    const [header, limits] = await Promise.all([store.get(keys.header), store.get(keys.planLimits)]);
    const current = decodeHeader(header);
    return current && at < current.validUntil ? decodePlanLimits(limits) : null;
  };
  const found = await read();
  if (found) return found;
  let limits = null as PlanLimits | null;
  // A header without limits (written before they were kept) counts as missing: the refresh rewrites both.
  await requestRecord(store, id, at, options.refreshTimeoutMs ?? 3_000, async () => {
    limits = await read();
    return limits !== null;
  });
  if (!limits) throw entitlementUnavailable("The organization's plan limits could not be loaded; retry in a moment");
  return limits;
}
