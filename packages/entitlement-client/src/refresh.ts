// Asking entitlement for an organization's record: every entitlement replica listens on the store's refresh
// channel (one takes the organization's lock and writes the record from PostgreSQL, creating the subscription
// on the free plan if the organization has none). Readers of the record — the decider in the wrappers, the plan
// limits in organization — ask when they find it missing or stale, and wait for it.
import { AppError } from '@g3d/errors';
import type { Store } from '@g3d/store';

import { entitlementKeys, REFRESH_CHANNEL } from './keys.ts';
import { decodeHeader, type RecordHeader } from './record.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The store could not give an organization's entitlements in time (entitlement down or slow). */
export const entitlementUnavailable = (message: string) =>
  new AppError('SERVICE_UNAVAILABLE', message, { service: 'entitlement' });

/**
 * Asks for the organization's record as of `at` (the reader's clock: a period that just ended rolls over) and
 * waits until `ready` holds for what the store has (default: a header still valid at `at`), asking again every
 * 0.5 s; SERVICE_UNAVAILABLE after `timeoutMs`.
 */
export async function requestRecord(
  store: Store,
  organizationId: string,
  at: number,
  timeoutMs: number,
  ready: (header: RecordHeader) => Promise<boolean> | boolean = () => true,
): Promise<void> {
  const keys = entitlementKeys(organizationId);
  const deadline = Date.now() + timeoutMs;
  let askAgainAt = 0;
  while (Date.now() < deadline) {
    if (Date.now() >= askAgainAt) {
      await store.publish(REFRESH_CHANNEL, JSON.stringify({ organizationId, at }));
      askAgainAt = Date.now() + 500;
    }
    await sleep(15);
    const header = decodeHeader(await store.get(keys.header));
    if (header && at < header.validUntil && (await ready(header))) return;
  }
  throw entitlementUnavailable("The organization's entitlements could not be loaded; retry in a moment");
}
