// Security state of record lives in PostgreSQL (revoked sessions and API keys, authorization changes, locks);
// the shared store is its cache, where the gateway reads it on every request. A store that comes back empty
// (Redis restarted without persistence, FLUSHDB, failover to an empty replica, the in-process store after a
// restart) must not bring revoked access back. So each owner of such state keeps a readiness marker in the
// store, refills the store from its tables whenever the marker is missing, then sets it; the gateway refuses to
// decide (SERVICE_UNAVAILABLE, fail closed) while any owner's marker is missing.
import { securityStateReadyKey } from '@g3d/auth';
import type { Store } from '@g3d/store';

import type { Logger } from './logger.ts';
import type { BackgroundJob } from './subgraph.ts';

/** One store entry of the security state: its key, value and remaining lifetime. */
export interface SecurityStateEntry {
  key: string;
  value: string;
  ttlMs: number;
}

/**
 * A job that checks the owner's marker (one store read) and, when it is missing, writes every entry `load`
 * returns (from the owner's tables), then the marker. Runs at start and then every `intervalMs`.
 */
export function securityStateJob(options: {
  owner: string;
  store: Store;
  load: () => Promise<SecurityStateEntry[]>;
  logger: Logger;
  intervalMs?: number;
}): BackgroundJob {
  const marker = securityStateReadyKey(options.owner);
  return {
    name: 'security-state',
    intervalMs: options.intervalMs ?? 1_000,
    runAtStart: true,
    async run() {
      if (await options.store.get(marker)) return;
      const started = Date.now();
      const entries = (await options.load()).filter((e) => e.ttlMs > 0);
      await Promise.all(entries.map((e) => options.store.set(e.key, e.value, { ttlMs: e.ttlMs })));
      await options.store.set(marker, new Date().toISOString());
      options.logger.warn(
        { owner: options.owner, entries: entries.length, ms: Date.now() - started },
        'security state written to the store (it was empty or new)',
      );
    },
  };
}
