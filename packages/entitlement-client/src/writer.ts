// Entitlement's side of the store layout: writing an organization's record (with the period's counters from
// the usage ledger, set only where absent) and reading the counters for reports.
import type { Store } from '@g3d/store';

import { COUNTER_GRACE_MS, counterSuffix, entitlementKeys, rateWindow } from './keys.ts';
import {
  decodeHeader,
  encodeAllowance,
  encodeHeader,
  encodePlanLimits,
  type EntitlementRecord,
  RECORD_SERVICES,
  type RecordHeader,
} from './record.ts';
import { writeScript } from './scripts.ts';

/** What the usage ledger says was counted so far in the record's period (and the current rate windows). */
export interface LedgerCounters {
  /** Per service: allowed requests and units in the period. */
  services: Record<string, { requests: number; units: number }>;
  /** Allowed invocations of all services in the period. */
  apiCalls: number;
  /** Allowed invocations per caller and service in the current rate window. */
  rate: { callerId: string; service: string; count: number }[];
}

export interface WriteResult {
  /** False when the store already held a newer revision (this write was stale). */
  written: boolean;
  countersSet: number;
}

export async function writeEntitlementRecord(
  store: Store,
  organizationId: string,
  record: EntitlementRecord,
  counters: LedgerCounters,
  now: number,
): Promise<WriteResult> {
  const keys = entitlementKeys(organizationId);
  const quotaTtl = Math.max(1, record.periodEnd - now) + COUNTER_GRACE_MS;
  const { window, end } = rateWindow(now);
  const args: (string | number)[] = [
    encodeHeader(record),
    record.revision,
    encodePlanLimits(record.limits),
    RECORD_SERVICES.length,
  ];
  for (const slug of RECORD_SERVICES) {
    const allowance = record.services[slug];
    args.push(slug, allowance ? encodeAllowance(allowance) : '');
  }
  for (const [service, used] of Object.entries(counters.services)) {
    args.push(counterSuffix.requests(service, record.periodStart), used.requests, quotaTtl);
    args.push(counterSuffix.units(service, record.periodStart), used.units, quotaTtl);
  }
  args.push(counterSuffix.apiCalls(record.periodStart), counters.apiCalls, quotaTtl);
  for (const r of counters.rate) {
    args.push(counterSuffix.rate(r.callerId, r.service, window), r.count, Math.max(1, end - now) + 60_000);
  }
  const [written, set] = await store.script(writeScript, [keys.base], args);
  return { written: written === 1, countersSet: Number(set) };
}

/** The period's counters of the given services as the store holds them now (0 when absent). */
export async function readUsageCounters(
  store: Store,
  organizationId: string,
  periodStart: number,
  services: readonly string[],
): Promise<{ services: Record<string, { requests: number; units: number }>; apiCalls: number }> {
  const { base } = entitlementKeys(organizationId);
  const read = async (suffix: string) => Number((await store.get(base + suffix)) ?? 0);
  const [apiCalls, ...perService] = await Promise.all([
    read(counterSuffix.apiCalls(periodStart)),
    ...services.flatMap((s) => [
      read(counterSuffix.requests(s, periodStart)),
      read(counterSuffix.units(s, periodStart)),
    ]),
  ]);
  const result: Record<string, { requests: number; units: number }> = {};
  services.forEach((service, i) => {
    result[service] = { requests: perService[i * 2] ?? 0, units: perService[i * 2 + 1] ?? 0 };
  });
  return { services: result, apiCalls: apiCalls ?? 0 };
}

/** The stored record's header (null when missing). */
export async function readEntitlementHeader(store: Store, organizationId: string): Promise<RecordHeader | null> {
  return decodeHeader(await store.get(entitlementKeys(organizationId).header));
}
