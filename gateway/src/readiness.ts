// Readiness that cannot be weaponised: the gateway probes its subgraphs in the background (one probe round at
// a time, every few seconds) and /readyz answers from that view, so a flood of probes costs nothing. The gateway
// is ready when the subgraphs it cannot serve without (identity: tokens and API keys) answer; any other one down
// degrades its own fields, not the gateway.
import { type Logger, probeReadiness } from '@g3d/kit';

import type { SubgraphEndpoint } from './supergraph.ts';

export interface ReadinessView {
  ready: boolean;
  /** Each subgraph's last probe: ok or unavailable. */
  subgraphs: Record<string, 'ok' | 'unavailable'>;
  checkedAt: string | null;
}

export interface ReadinessMonitor {
  view(): ReadinessView;
  /** Probes now (coalesced with a round already running). */
  refresh(): Promise<ReadinessView>;
  stop(): void;
}

export function createReadinessMonitor(options: {
  endpoints: SubgraphEndpoint[];
  /** Subgraphs without which the gateway cannot serve. */
  required: readonly string[];
  intervalMs: number;
  timeoutMs?: number;
  logger: Logger;
}): ReadinessMonitor {
  let current: ReadinessView = { ready: false, subgraphs: {}, checkedAt: null };
  let running: Promise<ReadinessView> | null = null;
  const probe = async (): Promise<ReadinessView> => {
    const results = await Promise.all(
      options.endpoints.map(
        async (e) =>
          [e.name, (await probeReadiness(e.url, options.timeoutMs ?? 2_000)).ok ? 'ok' : 'unavailable'] as const,
      ),
    );
    const subgraphs = Object.fromEntries(results);
    const ready = options.required.every((name) => subgraphs[name] !== 'unavailable');
    if (ready !== current.ready && current.checkedAt) {
      options.logger[ready ? 'info' : 'warn']({ subgraphs }, ready ? 'gateway ready' : 'gateway not ready');
    }
    current = { ready, subgraphs, checkedAt: new Date().toISOString() };
    return current;
  };
  const refresh = () => {
    running ??= probe().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => void refresh(), options.intervalMs);
  timer.unref();
  return { view: () => current, refresh, stop: () => clearInterval(timer) };
}
