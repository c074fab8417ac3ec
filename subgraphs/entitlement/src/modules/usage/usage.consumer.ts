// Consumes entitlement.usage-recorded into the ledger: one statement per event (a batch of invocations), each
// invocation id written once (a replayed or redelivered record changes nothing), and each quota threshold a
// decision saw crossed announced once per period (its own key).
import { quotaThresholdReached, usageRecorded } from '@g3d/contracts';
import { type EventHandler, onEvent, publishEvent } from '@g3d/events';

import type { UsageRepository } from './usage.repository.ts';

export function usageRecordedHandler(usage: UsageRepository): EventHandler {
  return onEvent(usageRecorded, async ({ records }, { tx }) => {
    await usage.holdShared(tx);
    await usage.insertMany(tx, records);
    for (const record of records) {
      if (!record.periodStart || !record.periodEnd) continue;
      for (const t of record.thresholds) {
        const service = t.metric === 'apiCalls' ? null : record.service;
        const first = await usage.insertThreshold(tx, {
          organizationId: record.organizationId,
          service: service ?? '',
          metric: t.metric,
          periodStart: new Date(record.periodStart),
          threshold: t.threshold,
          used: t.used,
          limit: t.limit,
        });
        if (!first) continue;
        await publishEvent(tx, 'entitlement', quotaThresholdReached, {
          organizationId: record.organizationId,
          service,
          metric: t.metric,
          threshold: t.threshold,
          used: t.used,
          limit: t.limit,
          periodStart: record.periodStart,
          periodEnd: record.periodEnd,
        });
      }
    }
  });
}
